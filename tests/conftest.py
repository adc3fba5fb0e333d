"""Fixtures shared by several test files."""

from pathlib import Path

import pytest

from tests.launch_prefix import prefix  # noqa: F401  (the fake ament prefix of the launcher tests)
from tests.processes import ros_environ


@pytest.fixture
def ros_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment for ROS child processes: loopback discovery, a random domain; this test process
    joins the same domain (its RosRobotEnv, devices and probes), and children can import ``tests``."""
    env = ros_environ(tmp_path / "ros_log")
    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR"):
        monkeypatch.setenv(key, env[key])
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env

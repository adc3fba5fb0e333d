"""Helpers for tests that start ROS 2 processes: loopback discovery, a random domain, clean ends."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def ros_environ(log_dir: Path, domain_id: int | None = None) -> dict[str, str]:
    """This process's environment with discovery on loopback and a random ROS_DOMAIN_ID (1-100)."""
    env = dict(os.environ)
    env.update(
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_DOMAIN_ID=str(domain_id or random.randint(1, 100)),
        AMENT_PREFIX_PATH=str(Path(sys.prefix)),
        MUJOCO_GL="egl",
        ROS_LOG_DIR=str(log_dir),
    )
    return env


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start a process (output to ``log``); on exit terminate it by PID, wait, kill if it hangs."""
    with open(log, "w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)

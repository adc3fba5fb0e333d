"""The learning core imports neither ROS nor a simulator (DESIGN.md: dependency direction)."""

from __future__ import annotations

import subprocess
import sys

BLOCKED = ("rclpy", "mujoco", "pybullet")

SCRIPT = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # any import of a blocked module now raises ImportError
import robot_rl
import robot_rl.config, robot_rl.geometry, robot_rl.envs.interface, robot_rl.envs.make, robot_rl.cli
import robot_rl.loop, robot_rl.agents.sac, robot_rl.buffers, robot_rl.demos, robot_rl.checkpoint
import robot_rl.transport.learner_server, robot_rl.transport.actor_client, robot_rl.distributed.actor
import drivers.topics
loaded = [m for m in {BLOCKED!r} if sys.modules.get(m) is not None]
assert not loaded, loaded
print("ok")
"""


def test_core_imports_without_ros_or_simulators() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_import_robot_rl_loads_no_ros_or_simulator() -> None:
    code = f"import sys, robot_rl; print([m for m in {BLOCKED!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

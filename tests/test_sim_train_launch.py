"""The real launch file: learner_node + actor_node (rclpy processes) over ZeroMQ via robot-rl launch."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rclpy")
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ros
@pytest.mark.parametrize(
    "launch_file",
    ["sim_train.launch.yaml", "sim_train_two_actors.launch.yaml", "sim_robot_train.launch.yaml"],
)
def test_sim_train_launch_trains_and_shuts_down_cleanly(tmp_path, launch_file: str) -> None:
    env = dict(os.environ)
    env.update(
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_DOMAIN_ID=str(random.randint(1, 100)),
        AMENT_PREFIX_PATH=str(Path(sys.prefix)),
        MUJOCO_GL="egl",
        ROS_LOG_DIR=str(tmp_path / "ros_log"),
    )
    overrides = (
        "train.total_env_steps=500 train.learning_starts=100 train.eval_every=0 train.eval_episodes=2 "
        f"train.video_episodes=0 train.num_demos=2 agent.num_critics=2 run_dir={tmp_path / 'run'}"
    )
    launcher = subprocess.Popen(
        [Path(sys.executable).parent / "robot-rl", "launch", str(ROOT / "launch" / launch_file),
         f"overrides:={overrides}", f"endpoint:=tcp://127.0.0.1:{free_port()}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output, _ = launcher.communicate(timeout=240)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=10)
    assert launcher.returncode == 0, output[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["env_steps"] == 500
    assert "policy weights v" in output  # the actor received the learner's weights
    assert "required node learner_node-1 exited" in output and "actor_node-1] process has finished" in output
    actors = 2 if "two_actors" in launch_file else 1
    assert output.count(") connected") >= actors

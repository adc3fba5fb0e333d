"""The real launch files: learner_node + actor_node (rclpy processes) over ZeroMQ via robot-rl launch, in
simulation and on the real-robot path with fake hardware."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robot_rl.data.episodes import read_episodes
from tests.processes import ros_environ

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
    overrides = (
        "train.total_env_steps=500 train.learning_starts=100 train.eval_every=0 train.eval_episodes=2 "
        f"train.video_episodes=0 train.num_demos=2 agent.num_critics=2 run_dir={tmp_path / 'run'}"
    )
    returncode, output = launch(tmp_path, launch_file, f"overrides:={overrides}")
    assert returncode == 0, output[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["env_steps"] == 500
    assert "policy weights v" in output  # the actor received the learner's weights
    assert "required node learner_node-1 exited" in output and "actor_node-1] process has finished" in output
    actors = 2 if "two_actors" in launch_file else 1
    assert output.count(") connected") >= actors


@pytest.mark.ros
def test_real_train_launch_runs_fake_arm_driver_camera_actor_and_learner(tmp_path) -> None:
    """The real-robot path end to end, no robot: fake_arm_node plays ros2_control, arm_driver_node drives
    it, camera_node replays a clip, the actor steps RosRobotEnv at 10 Hz and the learner trains."""
    run = tmp_path / "run"
    overrides = (
        "train.total_env_steps=60 train.learning_starts=20 train.batch_size=16 agent.num_critics=2 "
        f"agent.hidden_dims=[32,32] task.max_episode_steps=20 run_dir={run}"
    )
    returncode, output = launch(tmp_path, "real_train.launch.yaml", f"overrides:={overrides}")
    assert returncode == 0, output[-3000:]
    assert "Traceback" not in output and "ERROR" not in output, output[-3000:]
    state = json.loads((run / "checkpoints" / "final" / "state.json").read_text())
    # 60 steps learned from; the actor (real time, not held back) may have finished a fourth episode
    assert state["env_steps"] == 60 and state["episodes"] >= 3
    with np.load(run / "checkpoints" / "final" / "replay_online.npz") as replay:
        frames = replay["frames/images.front"]
        poses = replay["frames/state.tcp_pose"][replay["valid"]]
    assert frames.shape[1:] == (64, 64, 3) and frames.std() > 5  # the clip's pixels reached the learner
    assert np.ptp(poses[:, :3], axis=0).max() > 0.01  # the arm moved
    assert ") connected" in output and "watchdog: no command" not in output
    assert "marked gone" not in output  # the actor's link stays alive while the arm resets (3 s)


@pytest.mark.ros
def test_record_demos_real_launch_records_teleoperated_episodes_over_ros(tmp_path) -> None:
    """teleop_node (a scripted operator) -> its topics -> recorder_node over RosRobotEnv -> the arm driver
    -> fake arm; the operator's success marks end the episodes, which land on disk with camera frames."""
    out = tmp_path / "teleop.hdf5"
    returncode, output = launch(tmp_path, "record_demos_real.launch.yaml", "device:=scripted",
                                "device_overrides:=restart=true", "n:=2", f"out:={out}")  # fmt: skip
    assert returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    episodes = list(read_episodes(out))
    assert len(episodes) == 2
    for episode in episodes:
        assert episode.attrs["mark"] == "success" and episode.attrs["device"] == "teleop_topic"
        assert len(episode) > 3 and episode.is_intervention.all() and episode.rewards[-1] == 1.0
        assert episode.obs["images.front"].shape[1:] == (64, 64, 3)
    # each episode restarted the scripted operator in teleop_node: its "go down" segment moved the arm
    assert all(np.ptp(e.obs["state.tcp_pose"][:, 2]) > 0.005 for e in episodes)
    assert "episode 2 started" in output


def launch(tmp_path: Path, launch_file: str, *arguments: str) -> tuple[int, str]:
    """Run a launch file to its end (240 s at most); its exit code and output."""
    launcher = subprocess.Popen(
        [Path(sys.executable).parent / "robot-rl", "launch", str(ROOT / "launch" / launch_file), *arguments,
         f"endpoint:=tcp://127.0.0.1:{free_port()}"],
        env=ros_environ(tmp_path / "ros_log"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output, _ = launcher.communicate(timeout=240)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=10)
    return launcher.returncode, output


@pytest.mark.ros
def test_each_actor_of_each_run_gets_its_own_seed() -> None:
    """The actor's ``seed`` parameter is its index: train.seed=1 must not replay train.seed=0's episodes."""
    from robot_rl.config import ConfigError
    from robot_rl.nodes.actor_node import actor_seed

    seeds = {actor_seed(run, index) for run in range(3) for index in range(3)}
    assert len(seeds) == 9
    with pytest.raises(ConfigError, match="index among the run's actors"):
        actor_seed(0, 1000)

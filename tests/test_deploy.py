"""Policy export, robot-rl deploy (in-process sim and fake hardware over ROS) and the spec check."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from robot_rl.cli import main
from robot_rl.data.layout import flatten_obs
from robot_rl.envs.make import make_env
from robot_rl.policy_export import SpecMismatch, check_robot, load_policy
from tests.processes import BIN, ros_environ, running

ROOT = Path(__file__).resolve().parents[1]
TINY = ["train.total_env_steps=150", "train.learning_starts=50", "train.batch_size=16", "train.num_demos=2",
        "train.eval_every=0", "train.eval_episodes=1", "train.video_episodes=0", "agent.num_critics=2",
        "agent.hidden_dims=[32,32]", "task.max_episode_steps=30"]  # fmt: skip


def train_tiny(run: Path, task: str) -> Path:
    if not (run / "checkpoints" / "final").is_dir():
        assert main(["train", f"task={task}", *TINY, f"run_dir={run}"]) == 0
    return run / "checkpoints" / "final"


@pytest.fixture(scope="module")
def pick_cube_checkpoint(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("pick") / "run", "pick_cube")


def test_export_holds_only_the_policy_and_acts_like_the_checkpoint(pick_cube_checkpoint, tmp_path) -> None:
    out = tmp_path / "export"
    assert main(["export", f"checkpoint={pick_cube_checkpoint}", f"out={out}"]) == 0
    manifest = json.loads((out / "policy.json").read_text())
    assert manifest["io"]["state_keys"] == ["state.tcp_pose", "state.tcp_vel", "state.gripper_pos",
                                            "privileged.cube_pos"]  # fmt: skip
    assert manifest["io"]["action_dim"] == 4 and manifest["normalisation"]["action"]["action_dims"] == [
        0,
        1,
        2,
        6,
    ]
    weights = load_file(out / "policy.safetensors")
    assert weights and all(k.startswith(("actor.", "critic.encoder.")) for k in weights)  # no Q, no targets
    exported, trained = load_policy(out), load_policy(pick_cube_checkpoint)
    env = make_env(exported.task)
    obs, _ = env.reset(seed=5)
    for _ in range(5):
        flat = flatten_obs(obs)
        action = exported(flat)
        np.testing.assert_array_equal(action, trained(flat))
        obs, *_ = env.step(action)


def test_deploy_in_sim_reports_and_refuses_another_robots_spec(
    pick_cube_checkpoint, tmp_path, capsys
) -> None:
    out = tmp_path / "deploy"
    args = [
        "deploy",
        f"checkpoint={pick_cube_checkpoint}",
        "episodes=2",
        "video_episodes=1",
        f"out_dir={out}",
    ]
    assert main([*args, "dr=shifted"]) == 0
    report = json.loads((out / "deploy.json").read_text())
    assert report["episodes"] == 2 and 0.0 <= report["success_rate"] <= 1.0
    assert report["cycle_time_ms"]["mean"] > 0 and isinstance(report["shield_trips"], dict)
    assert not set(report["shield_trips"]) & {"clip", "delta", "workspace", "velocity", "backup"}
    assert report["shield_trips_total"] <= sum(report["shield_events"].values())
    assert report["randomization"]["object_mass_scale"] == [2.0, 2.0]
    assert (out / "deploy.mp4").stat().st_size > 1000
    # the same policy on the peg-insertion arm: its observation has no cube
    assert main([*args, "+task.env_id=robot_rl/PandaPegInsert-v0"]) == 2
    err = capsys.readouterr().err
    assert "privileged.cube_pos (3,) is missing" in err and "privileged.hole_pos" in err
    policy = load_policy(pick_cube_checkpoint)
    with pytest.raises(SpecMismatch, match="action is 7-D"):
        check_robot(policy, make_env(policy.task, **{}).unwrapped)


def test_deploy_gives_a_gripper_critic_policy_its_discrete_gripper(tmp_path, monkeypatch) -> None:
    """HIL-SERL's gripper critic answers -1 open / 0 stay / +1 close: deploy must build the env the actor
    built (GripperStay), or "stay" reaches the robot as a half-closed gripper."""
    import robot_rl.commands.deploy as deploy_command
    from robot_rl.envs.wrappers import GripperStay

    run = tmp_path / "run"
    assert main(["train", "task=pick_cube", *TINY, "agent.gripper_critic=true", f"run_dir={run}"]) == 0
    envs = []
    real_run_policy = deploy_command.run_policy

    def run_policy(env, *args, **kwargs):
        envs.append(env)
        return real_run_policy(env, *args, **kwargs)

    monkeypatch.setattr(deploy_command, "run_policy", run_policy)
    out = tmp_path / "deploy"
    assert main(["deploy", f"checkpoint={run / 'checkpoints' / 'final'}", "episodes=1", "video_episodes=0",
                 f"out_dir={out}"]) == 0  # fmt: skip
    env = envs[0]
    while not isinstance(env, GripperStay):  # AttributeError past the base env: no GripperStay
        env = env.env
    env.reset(seed=0)
    env.step(np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32))
    env.step(np.array([0.0, 0.0, 0.0, 0.0], dtype=np.float32))  # stay: keeps closing
    assert env.last_command == 1.0


@pytest.mark.ros
def test_deploy_on_fake_hardware_through_the_launch_file(pick_cube_checkpoint, tmp_path) -> None:
    """launch/sim_robot.launch.yaml (sim_robot_node behind the robot topics) driven by robot-rl deploy in
    another process over ROS; a peg-insertion policy is refused with the keys that differ."""
    env = ros_environ(tmp_path)
    peg = train_tiny(tmp_path / "peg", "peg_insert")
    launch = [str(BIN / "robot-rl"), "launch", str(ROOT / "launch" / "sim_robot.launch.yaml"),
              "overrides:=task.max_episode_steps=30"]  # fmt: skip
    with running(launch, env, tmp_path / "launch.log"):
        time.sleep(2.0)
        deploy = [str(BIN / "robot-rl"), "deploy", "robot=/robot", "episodes=2", "video_episodes=0"]
        done = subprocess.run([*deploy, f"checkpoint={pick_cube_checkpoint}", f"out_dir={tmp_path / 'out'}"],
                              env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        refused = subprocess.run([*deploy, f"checkpoint={peg}"], env=env, capture_output=True, text=True,
                                 timeout=120)  # fmt: skip
    report = json.loads((tmp_path / "out" / "deploy.json").read_text())
    assert report["env_id"] == "robot_rl/RosRobot-v0" and report["episodes"] == 2
    assert report["mean_episode_steps"] > 1 and report["cycle_time_ms"]["mean"] > 0
    assert refused.returncode == 2
    assert "privileged.hole_pos (3,) is missing" in refused.stderr, refused.stderr[-2000:]
    assert "privileged.peg_tip_pos (3,) is missing" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_python_api_refuses_a_bad_folder(tmp_path) -> None:
    from robot_rl.errors import CheckpointError

    with pytest.raises(CheckpointError, match=r"config\.yaml"):
        load_policy(tmp_path)


def test_deploy_on_a_ros_robot_keeps_the_configured_parts_of_the_box() -> None:
    """The simulated task's box fills only what the safety config leaves unset."""
    from dataclasses import replace

    from robot_rl.commands.deploy import ROS_ROBOT, shield_config
    from robot_rl.config import load_config, task_config
    from robot_rl.safety.config import safety_config

    cfg = load_config("train", ["task=pick_cube"])
    trained = task_config(cfg.task)
    robot = replace(trained, env_id=ROS_ROBOT)
    own = make_env(trained).unwrapped.tcp_target
    mine = replace(safety_config(cfg), workspace_high=[0.6, 0.2, 0.4])
    filled = shield_config(mine, trained, robot)
    assert filled.workspace_high == [0.6, 0.2, 0.4]  # kept, though workspace_low was unset
    assert filled.workspace_low == own.low.tolist() and filled.rotation_limit == own.rotation_limit.tolist()

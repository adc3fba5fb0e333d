"""The real-robot path without a robot: fake_arm_node (MuJoCo playing ros2_control) + arm_driver_node
(+ camera_node on a video file), each its own process, and RosRobotEnv over the driver."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest

pytest.importorskip("rclpy")

from geometry_msgs.msg import PoseStamped
from std_msgs.msg import Float64MultiArray

import robot_rl  # noqa: F401
from tests.conformance import check_env_conformance
from tests.processes import BIN, RosProbe, running

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[1]
FR3 = dict(
    namespace="/robot", arm_joints=[f"fr3_joint{i}" for i in range(1, 8)], gripper_joint="fr3_finger_joint1",
    wrench=False, task_state=False, sim_node="", timeout_s=20.0,
)  # fmt: skip
BOX_LOW, BOX_HIGH = np.array([0.3, -0.25, 0.05]), np.array([0.7, 0.25, 0.5])  # configs/robot/fr3.yaml


def driver() -> list[str]:
    return [str(BIN / "arm_driver_node"), "--ros-args", "-r", "__ns:=/robot"]


def tcp_of(q: np.ndarray) -> np.ndarray:
    model = mujoco.MjModel.from_xml_path(str(ROOT / "sim/assets/panda/panda_kinematics.xml"))
    data = mujoco.MjData(model)
    data.qpos[:7] = q
    mujoco.mj_kinematics(model, data)
    return data.site_xpos[model.site("tcp").id].copy()


def outside(tcp: np.ndarray) -> float:
    return float(np.linalg.norm(np.maximum(BOX_LOW - tcp, 0.0) + np.maximum(tcp - BOX_HIGH, 0.0)))


def test_ros_robot_env_over_the_driver_conforms_and_no_command_leaves_the_box(ros_env, tmp_path) -> None:
    probe = RosProbe()
    commands = probe.record(Float64MultiArray, "/forward_position_controller/commands")
    poses = probe.record(PoseStamped, "/robot/tcp_pose")
    try:
        with (
            running([str(BIN / "fake_arm_node")], ros_env, tmp_path / "fake.log"),
            running(driver(), ros_env, tmp_path / "driver.log"),
        ):
            check_env_conformance(
                lambda: gym.make("robot_rl/RosRobot-v0", disable_env_checker=True, **FR3),
                expect_images=False, deterministic=False, randomized_reset=False,
            )  # fmt: skip
            env = gym.make("robot_rl/RosRobot-v0", disable_env_checker=True, **FR3)
            try:
                obs, _ = env.reset()
                start = len(commands)
                for push in ([0, 1, 0], [1, 0, 1], [-1, -1, -1]):  # saturate towards three faces
                    for _ in range(12):
                        obs, *_ = env.step(np.array([*push, 0.5, 0.5, 0.5, -1], np.float32))
                    # The commands below are checked to the millimetre; the arm itself may overshoot a
                    # little while it stops, more when the machine is loaded (real-time fake arm).
                    reached = obs["state"]["tcp_pose"][:3]
                    assert np.all(reached >= BOX_LOW - 0.03) and np.all(reached <= BOX_HIGH + 0.03), reached
            finally:
                env.close()
        # Every joint command's TCP lies in the box, or (when the arm has overshot it) no further out than
        # the arm was at the time: nothing commands the arm out of its box.
        sent = commands[start:]
        assert len(sent) >= 30
        for received, msg in sent:
            before = [m for t, m in poses if t <= received]
            measured = np.array(
                [before[-1].pose.position.x, before[-1].pose.position.y, before[-1].pose.position.z]
            )
            out = outside(tcp_of(np.asarray(msg.data)))
            # 2 mm: the driver checks against its own joint reading, taken a little after this pose
            assert out <= outside(measured) + 0.002, f"command {out * 1000:.1f} mm out, arm {measured}"
    finally:
        probe.close()


def test_camera_node_streams_a_video_file_into_the_robot_env(ros_env, tmp_path) -> None:
    import imageio.v2 as imageio

    video = tmp_path / "clip.mp4"
    frames = [np.full((96, 128, 3), (i * 20) % 255, np.uint8) + np.arange(128, dtype=np.uint8)[None, :, None]
              for i in range(10)]  # fmt: skip
    imageio.mimsave(video, frames, fps=10)  # rate_hz:=30 below is an integer: converted, not refused
    camera = [str(BIN / "camera_node"), "--ros-args", "-r", "__ns:=/robot", "-p", "name:=front",
              "-p", f"source:={video}", "-p", "size:=64", "-p", "rate_hz:=30"]  # fmt: skip
    with (
        running([str(BIN / "fake_arm_node")], ros_env, tmp_path / "fake.log"),
        running(driver(), ros_env, tmp_path / "driver.log"),
        running(camera, ros_env, tmp_path / "camera.log"),
    ):
        env = gym.make(
            "robot_rl/RosRobot-v0", disable_env_checker=True, images=True, cameras=("front",), **FR3
        )
        try:
            obs, _ = env.reset()
            for _ in range(3):
                obs, *_ = env.step(np.zeros(7, np.float32))
            image = obs["images"]["front"]
            assert image.shape == (64, 64, 3) and image.dtype == np.uint8 and image.std() > 5
        finally:
            env.close()


def test_missing_camera_is_one_clear_error(ros_env, tmp_path) -> None:
    import subprocess

    out = subprocess.run(
        [str(BIN / "camera_node"), "--ros-args", "-p", f"source:={tmp_path / 'nope.mp4'}"],
        env=ros_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert "cannot be opened" in out.stderr + out.stdout and "Traceback" not in out.stderr + out.stdout


def test_stale_joint_states_command_no_motion(ros_env, tmp_path) -> None:
    """The arm's joint states stop (its process frozen): the driver's env commands nothing from the old
    reading and says why; when they come back, commanding resumes."""
    from drivers.robot_profile import RobotProfile
    from drivers.ros_controller_arm import ControllerArmEnv
    from robot_rl.config import load_config, to_dataclass

    profile = to_dataclass(RobotProfile, load_config("driver", []).robot, "robot")
    probe = RosProbe()
    commands = probe.record(Float64MultiArray, "/forward_position_controller/commands")
    push = np.array([1, 0, 0, 0, 0, 0, -1], np.float32)

    def commanded_by_a_step() -> tuple[int, dict]:
        before = len(commands)
        info = arm.step(push)[-1]
        time.sleep(0.3)  # the command (if any) reaches the probe
        return len(commands) - before, info

    try:
        with running([str(BIN / "fake_arm_node")], ros_env, tmp_path / "fake.log") as fake:
            arm = ControllerArmEnv(profile, 10.0, timeout_s=20.0)
            try:
                arm.reset()
                assert commanded_by_a_step()[0] == 1
                os.kill(fake.pid, signal.SIGSTOP)
                try:
                    time.sleep(0.5)  # older than 3 control periods
                    sent, info = commanded_by_a_step()
                    assert sent == 0 and info["safety"][0]["layer"] == "stale_state"
                finally:
                    os.kill(fake.pid, signal.SIGCONT)
                time.sleep(0.3)
                assert commanded_by_a_step()[0] == 1
            finally:
                arm.close()
    finally:
        probe.close()

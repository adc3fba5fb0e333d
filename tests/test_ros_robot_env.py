"""RosRobotEnv over sim_robot_node in another process: the one interface, over real ROS 2 topics."""

from __future__ import annotations

import contextlib
import time

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("rclpy")

import robot_rl  # noqa: F401  (registers the ids)
from robot_rl.safety.config import SafetyConfig
from robot_rl.safety.shield import SafetyShield
from tests.conformance import check_env_conformance
from tests.processes import BIN, running

pytestmark = pytest.mark.ros


def sim_robot(overrides: str, *, realtime: bool) -> list[str]:
    return [
        str(BIN / "sim_robot_node"), "--ros-args", "-r", "__ns:=/robot",
        "-p", f"overrides:={overrides}", "-p", f"realtime:={str(realtime).lower()}",
    ]  # fmt: skip


def make_ros_env(**kwargs) -> gym.Env:
    return gym.make("robot_rl/RosRobot-v0", disable_env_checker=True, namespace="/robot", **kwargs)


def test_lockstep_sim_robot_conforms_and_matches_the_in_process_env(ros_env, tmp_path) -> None:
    with running(sim_robot("task=pick_cube", realtime=False), ros_env, tmp_path / "sim.log"):
        check_env_conformance(make_ros_env, expect_images=False, deterministic=True)

        # Lossless contract: the same seed and actions give the in-process env's trajectory (the sim robot
        # runs its env behind the default safety shield, so the local one does too).
        ros = make_ros_env()
        local = SafetyShield(gym.make("robot_rl/PandaPickCube-v0"), SafetyConfig())
        try:
            actions = np.random.default_rng(3).uniform(-1, 1, (15, 7)).astype(np.float32)
            a, _ = ros.reset(seed=11)
            b, _ = local.reset(seed=11)
            for t, action in enumerate(actions):
                for part in ("tcp_pose", "joint_pos", "gripper_pos"):
                    np.testing.assert_allclose(
                        a["state"][part], b["state"][part], atol=1e-6, err_msg=f"{t} {part}"
                    )
                np.testing.assert_allclose(
                    a["privileged"]["cube_pos"], b["privileged"]["cube_pos"], atol=1e-6
                )
                a, ra, *_ = ros.step(action)
                b, rb, *_ = local.step(action)
                assert ra == rb
        finally:
            ros.close()
            local.close()


def test_sim_robot_with_cameras_conforms(ros_env, tmp_path) -> None:
    overrides = "task=pick_cube task.images=true task.image_size=64"
    with running(sim_robot(overrides, realtime=False), ros_env, tmp_path / "sim.log"):
        check_env_conformance(lambda: make_ros_env(images=True, image_size=64), expect_images=True, n_steps=3)


def test_realtime_sim_robot_paces_the_env_at_control_hz(ros_env, tmp_path) -> None:
    with running(
        sim_robot("task=pick_cube task.control_hz=50", realtime=True), ros_env, tmp_path / "sim.log"
    ):
        check_env_conformance(lambda: make_ros_env(control_hz=50), expect_images=False, deterministic=False)
        env = make_ros_env(control_hz=50)
        try:
            env.reset(seed=0)
            start = time.monotonic()
            for _ in range(25):
                _obs, *_ = env.step(np.array([0, 0, 1, 0, 0, 0, -1], np.float32))
            elapsed = time.monotonic() - start
        finally:
            env.close()
        assert 25 * 0.02 * 0.8 <= elapsed <= 25 * 0.02 * 2.5, f"25 steps at 50 Hz took {elapsed:.3f} s"


def test_missing_robot_is_one_clear_error(ros_env) -> None:
    from drivers.ros_robot_env import RobotTimeout

    with pytest.raises(RobotTimeout, match=r"no message yet on .*/robot/joint_states.*sim_robot_node"):
        make_ros_env(timeout_s=1.0)


def test_a_robot_at_another_control_rate_is_refused_before_anything_moves(ros_env, tmp_path) -> None:
    from drivers import topics
    from drivers.ros_robot_env import RobotRateMismatch

    assert topics.parse_rate_token("some driver's reply") is None  # a driver that names none: not checked
    with running(
        sim_robot("task=pick_cube task.control_hz=20", realtime=False), ros_env, tmp_path / "sim.log"
    ):
        # Refused while the client is built: no reset (the arm's move home) and no command is sent.
        with pytest.raises(RobotRateMismatch, match=r"ticks at 20 Hz, this client .* at 10 Hz.*0\.5x"):
            make_ros_env(control_hz=10)
        env = make_ros_env(control_hz=20)  # the same robot at the client's rate
        try:
            env.reset(seed=0)
            env.step(np.zeros(7, np.float32))
        finally:
            env.close()


class SlowStep(gym.Wrapper):
    """A step that takes a while, as a loaded machine's simulation or a slow driver read does."""

    def step(self, action):
        time.sleep(0.2)
        return self.env.step(action)


@contextlib.contextmanager
def robot_in_process(*wrappers: type[gym.Wrapper], realtime: bool = False):
    """A ``RobotNode`` on the simulated pick-cube arm in this process, its callbacks called by hand."""
    import rclpy

    from robot_rl.nodes.robot_node import RobotNode
    from robot_rl.nodes.sim_robot_node import JOINT_NAMES

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("robot_probe", context=context)
    sim = gym.make("robot_rl/PandaPickCube-v0", disable_env_checker=True)
    for wrapper in wrappers:
        sim = wrapper(sim)
    env = SafetyShield(sim, SafetyConfig())
    try:
        yield node, RobotNode(node, env, realtime=realtime, joint_names=JOINT_NAMES)
    finally:
        env.close()
        node.destroy_node()
        context.try_shutdown()


def published(robot) -> tuple[set[float], dict[str, np.ndarray]]:
    """The header stamps of the last state set and its task_state parts."""
    from drivers import topics
    from drivers.msg_decode import parts_from_msg

    stamps = {
        topics.stamp_seconds(msg.header.stamp) for _, msg in robot.last_messages if hasattr(msg, "header")
    }
    task = next(msg for pub, msg in robot.last_messages if pub is robot.pub_task)
    return stamps, parts_from_msg(task)


def test_a_state_is_stamped_when_its_command_was_taken_not_after_the_step() -> None:
    """A command that arrives while a step runs was not applied in it: the state that step publishes must
    be older than the command, or RosRobotEnv (which waits for a state newer than its command) would take
    it as the command's outcome and every observation would lag one action."""
    with robot_in_process(SlowStep) as (node, robot):
        before = node.get_clock().now().nanoseconds * 1e-9
        robot._tick()
        after = node.get_clock().now().nanoseconds * 1e-9
        stamps, _ = published(robot)
        assert len(stamps) == 1 and before <= stamps.pop() < before + 0.1 < after - 0.1


def test_a_state_names_the_twist_command_it_applied() -> None:
    """A realtime tick that starts after RosRobotEnv sent its command, but before the robot took it, must
    not look like the command's outcome: its task_state names the command it did apply."""
    from geometry_msgs.msg import TwistStamped
    from std_msgs.msg import Float64MultiArray

    with robot_in_process(realtime=True) as (node, robot):
        command = TwistStamped()
        command.header.stamp = node.get_clock().now().to_msg()
        robot._tick()  # the timer's tick, before the command was taken
        assert published(robot)[1]["command"][0] == 0.0
        robot._on_twist(command)
        robot._on_gripper(Float64MultiArray(data=[1.0]))
        robot._tick()
        sent = command.header.stamp.sec + command.header.stamp.nanosec * 1e-9
        assert published(robot)[1]["command"][0] == sent
        robot._tick()  # no new command: still the last one applied
        assert published(robot)[1]["command"][0] == sent
        command.header.stamp.sec += 1
        robot._on_twist(command)  # taken, then superseded by a reset (another client's): the reset answers it
        robot._reset(seed=0, publish=True)
        assert published(robot)[1]["command"][0] == sent + 1


def test_a_step_takes_the_state_that_applied_its_command_or_a_later_senders() -> None:
    """RosRobotEnv's pairing of a step with a state set, on hand-made messages: a tick stamped after the
    command but naming the command before it is not the answer; one naming this command, or a command of
    another sender taken since the last state, is."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import JointState

    from drivers import topics
    from drivers.ros_messages import parts_msg, pose_msg, twist_msg
    from drivers.ros_robot_env import RosRobotEnv

    names = (topics.JOINT_STATES, topics.TCP_POSE, topics.TCP_TWIST, topics.TASK_STATE)

    def state_set(stamp_s: float, applied: float) -> dict:
        stamp = Time(sec=int(stamp_s), nanosec=round((stamp_s % 1) * 1e9))
        joints = JointState()
        joints.header.stamp = stamp
        task = parts_msg({"stamp": stamp_s, "success": 0.0, "reward": 0.0, "command": applied})
        pose = pose_msg(np.zeros(3), np.array([1.0, 0, 0, 0]), stamp)
        twist = twist_msg(np.zeros(3), np.zeros(3), stamp)
        return dict(zip(names, (joints, pose, twist, task), strict=True))

    env = object.__new__(RosRobotEnv)  # the pairing only: no ROS
    env._state_topics = dict.fromkeys(names)
    env._image_topics, env.period_s = set(), 0.1
    env._applied, env._command = 10.0, 10.5  # the last state applied the command of 10.0; this step sent 10.5
    env._latest = state_set(10.6, applied=10.0)  # began after the send, before the command was taken
    assert env._complete_set(newer_than=10.5) is None
    env._latest = state_set(10.7, applied=10.5)
    assert env._complete_set(newer_than=10.5) is not None
    env._latest = state_set(10.7, applied=10.2)  # another sender's command, taken since: the arm moved
    assert env._complete_set(newer_than=10.5) is not None

"""``RobotNode``: an arm env behind the robot topic contract (``drivers/topics.py``), shared by
``sim_robot_node`` (a simulated arm) and ``arm_driver_node`` (a real arm through ros2_control).

It publishes joint states, TCP pose/twist, wrench, camera images and the task state once per control
tick, and takes ``cmd/twist`` (TCP velocity, held for one period, then the arm holds still) and
``cmd/gripper`` commands; ``reset`` (``std_srvs/Trigger``) starts a new episode, seeded by the
``seed`` parameter when it is >= 0.

Safety sits here, next to the motor: the env runs behind the ``SafetyShield``; a watchdog holds the
arm when no command arrived for two control periods; ``estop`` (Trigger) latches an e-stop that only
``estop_release`` (Trigger) clears, and ``estop_state`` (``std_msgs/Bool``) reports it on every tick
and change.

Clocking (``realtime``):
- ``true`` (like hardware): a timer ticks at ``control_hz`` and each tick applies the latest commands;
  a late command waits for the next tick.
- ``false`` (lockstep, simulation only): one step each time both a twist and a gripper command have
  arrived, so it is exactly as deterministic as the in-process env.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from drivers import topics
from drivers.ros_messages import image_msg, parts_msg, pose_msg, twist_from_msg, twist_msg, wrench_msg
from robot_rl.safety.shield import EStopLatched, SafetyShield
from robot_rl.safety.watchdog import Watchdog

IDLE_REPEAT_S = 0.5


class RobotNode:
    """The node's state: the shielded env, the held commands and the publishers.

    :param joint_names: names published on ``joint_states``: the arm joints, then the finger joint.
    """

    def __init__(
        self,
        node: Node,
        env: SafetyShield,
        *,
        realtime: bool,
        joint_names: list[str],
        gripper_open_m: float = 0.04,
    ) -> None:
        self.node, self.realtime, self.joint_names, self.gripper_open_m = (
            node,
            realtime,
            joint_names,
            gripper_open_m,
        )
        node.declare_parameter(
            "seed", -1, ParameterDescriptor(description="seed of the next reset; -1: none")
        )
        self.env = self.shield = env
        base = self.env.unwrapped
        self.period_s = 1.0 / base.control_hz
        self.scale = np.asarray(base.action_scale, dtype=np.float64)
        self.cameras = tuple(getattr(base, "cameras", ()))

        self.pub_joints = node.create_publisher(JointState, topics.JOINT_STATES, 10)
        self.pub_pose = node.create_publisher(PoseStamped, topics.TCP_POSE, 10)
        self.pub_twist = node.create_publisher(TwistStamped, topics.TCP_TWIST, 10)
        self.pub_wrench = node.create_publisher(WrenchStamped, topics.WRENCH, 10)
        self.pub_task = node.create_publisher(Float64MultiArray, topics.TASK_STATE, 10)
        self.pub_images = {c: node.create_publisher(Image, topics.camera_topic(c), 10) for c in self.cameras}
        node.create_subscription(TwistStamped, topics.CMD_TWIST, self._on_twist, 10)
        node.create_subscription(Float64MultiArray, topics.CMD_GRIPPER, self._on_gripper, 10)
        node.create_service(Trigger, topics.RESET, self._on_reset)
        node.create_service(Trigger, topics.ROBOT_INFO, self._on_robot_info)
        self.pub_estop = node.create_publisher(Bool, topics.ESTOP_STATE, 10)
        node.create_service(Trigger, topics.ESTOP, self._on_estop)
        node.create_service(Trigger, topics.ESTOP_RELEASE, self._on_estop_release)
        self.watchdog = Watchdog(2 * self.period_s)
        self.watchdog_tripped = False  # warned, not yet fed again

        self.twist = np.zeros(6)
        self.opening = 1.0
        self.new_twist = self.new_gripper = False
        self.received_command = self.applied_command = 0.0  # twist header stamps
        self.clipped_warned = False
        self._reset(seed=int(node.get_parameter("seed").value), publish=True)
        if self.realtime:
            node.create_timer(self.period_s, self._tick)
        else:  # idle in lockstep: repeat the last state (same stamp) so that late subscribers see one
            node.create_timer(IDLE_REPEAT_S, self._repeat_when_idle)
        node.get_logger().info(
            f"{type(base).__name__} at {base.control_hz:g} Hz ({'realtime' if realtime else 'lockstep'}), "
            f"cameras {list(self.cameras)}, topics under {node.get_namespace()}"
        )

    # --------------------------------------------------------------------------------------- commands
    def _on_twist(self, msg: TwistStamped) -> None:
        twist = twist_from_msg(msg)
        if not np.all(np.isfinite(twist)):  # never reaches the arm; the watchdog holds it meanwhile
            self.node.get_logger().error(f"ignored twist command {twist.tolist()}: NaN/Inf")
            return
        self.twist, self.new_twist = twist, True
        self.received_command = topics.stamp_seconds(msg.header.stamp)
        self.watchdog.feed(time.monotonic())
        self._maybe_lockstep()

    def _on_gripper(self, msg: Float64MultiArray) -> None:
        if len(msg.data) != 1 or not np.isfinite(msg.data[0]):
            self.node.get_logger().error(f"ignored gripper command {list(msg.data)}: expected [opening 0..1]")
            return
        self.opening, self.new_gripper = float(np.clip(msg.data[0], 0.0, 1.0)), True
        self._maybe_lockstep()

    def _maybe_lockstep(self) -> None:
        if not self.realtime and self.new_twist and self.new_gripper:
            self._tick()

    def _on_estop(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.shield.estop("estop service")
        self.node.get_logger().warning("E-STOP latched: holding until estop_release")
        self.pub_estop.publish(Bool(data=True))
        response.success, response.message = True, "e-stop latched"
        return response

    def _on_estop_release(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was = self.shield.estopped
        self.shield.release_estop()
        self.node.get_logger().info("e-stop released" if was else "e-stop release: was not latched")
        self.pub_estop.publish(Bool(data=False))
        response.success, response.message = True, "e-stop released" if was else "e-stop was not latched"
        return response

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        seed = int(self.node.get_parameter("seed").value)
        try:
            stamp = self._reset(seed=seed, publish=True)
        except EStopLatched as err:  # nothing moves until the operator releases it
            response.success, response.message = False, f"{topics.RESET_REFUSED_ESTOP}: {err}"
            return response
        response.success, response.message = True, f"reset seed={seed} {topics.stamp_token(stamp)}"
        return response

    def _on_robot_info(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        # A client at another rate refuses to drive this arm, before it sends anything.
        response.success, response.message = True, topics.rate_token(1.0 / self.period_s)
        return response

    # --------------------------------------------------------------------------------------- stepping
    def _reset(self, seed: int, publish: bool) -> Time | None:
        """New episode; returns the stamp of the published start state."""
        obs, info = self.env.reset(seed=seed if seed >= 0 else None)
        self.watchdog.at_rest()  # no command is due before the episode's first step
        self.twist, self.opening = np.zeros(6), 1.0
        self.new_twist = self.new_gripper = False
        self.applied_command = self.received_command  # a command taken before the reset is answered by it
        return self._publish(obs, 0.0, info, self.node.get_clock().now().to_msg()) if publish else None

    def _tick(self) -> None:
        # The state is stamped when its commands were taken: a command sent while this step runs is
        # newer than the state, so RosRobotEnv waits for the next one instead of taking a state that
        # never saw it as the answer (the stamp after the step made a slow step lag one action).
        stamp = self.node.get_clock().now().to_msg()
        expired, changed = self.watchdog.check(time.monotonic())
        if self.watchdog.tripped(expired, changed):
            self.watchdog_tripped = True
            self.node.get_logger().warning("watchdog: no command for two control periods, holding the arm")
        elif changed and not expired and self.watchdog_tripped:
            self.watchdog_tripped = False
            self.node.get_logger().info("watchdog: commands again")
        if expired:
            self.twist = np.zeros(6)
        action = self._action()
        if self.new_twist:
            self.applied_command = self.received_command
        self.twist = np.zeros(6)  # a twist is held for one period; without a new one the arm stays put
        self.new_twist = self.new_gripper = False
        obs, reward, _terminated, _truncated, info = self.env.step(action)
        self._publish(obs, reward, info, stamp)

    def _action(self) -> np.ndarray:
        delta = self.twist * self.period_s
        action = np.concatenate(
            [delta[:3] / self.scale[0], delta[3:] / self.scale[1], [1.0 - 2.0 * self.opening]]
        )
        if np.any(np.abs(action) > 1.0 + 1e-6) and not self.clipped_warned:
            self.clipped_warned = True
            self.node.get_logger().warning(
                f"twist {self.twist.round(3).tolist()} exceeds the task's action_scale "
                f"{self.scale.tolist()} per period; clipped (warned once)"
            )
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _repeat_when_idle(self) -> None:
        if time.monotonic() - self.last_published >= IDLE_REPEAT_S:
            self._send(self.last_messages)

    def _send(self, messages: list[tuple[Any, Any]]) -> None:
        for publisher, msg in messages:
            publisher.publish(msg)
        self.pub_estop.publish(Bool(data=self.shield.estopped))
        self.last_messages, self.last_published = messages, time.monotonic()

    def _publish(self, obs: dict[str, Any], reward: float, info: dict[str, Any], stamp: Time) -> Time:
        """Publish one state set, every message with ``stamp``."""
        state = obs["state"]
        joints = JointState(name=list(self.joint_names))
        joints.header.stamp = stamp
        joints.position = [
            *map(float, state["joint_pos"]),
            float(state["gripper_pos"][0]) * self.gripper_open_m,
        ]
        joints.velocity = [*map(float, state["joint_vel"]), 0.0]
        messages: list[tuple[Any, Any]] = [
            (self.pub_joints, joints),
            (self.pub_pose, pose_msg(state["tcp_pose"][:3], state["tcp_pose"][3:], stamp)),
            (self.pub_twist, twist_msg(state["tcp_vel"][:3], state["tcp_vel"][3:], stamp)),
        ]
        if "tcp_wrench" in state:
            messages.append(
                (self.pub_wrench, wrench_msg(state["tcp_wrench"][:3], state["tcp_wrench"][3:], stamp))
            )
        for cam, img in obs.get("images", {}).items():
            messages.append((self.pub_images[cam], image_msg(img, stamp, cam)))
        parts = {
            "stamp": topics.stamp_seconds(stamp),
            "success": float(info["success"]),
            "reward": float(reward),
            "command": self.applied_command,  # the command this state has seen: RosRobotEnv waits for its own
            **obs.get("privileged", {}),
        }
        messages.append((self.pub_task, parts_msg(parts)))
        self._send(messages)
        return stamp


def serve(node: Node, env: SafetyShield, **settings: Any) -> int:
    """Run ``env`` as a ``RobotNode`` (``settings``: its keyword arguments) until shutdown, then close it."""
    import rclpy

    robot = RobotNode(node, env, **settings)
    try:
        rclpy.spin(node)
    finally:
        robot.env.close()
    return 0

"""``ControllerArmEnv``: a real arm under ros2_control as an env of the one interface (no cameras).

It reads ``/joint_states`` and commands one of the standard controllers, chosen by the robot profile
(``configs/robot/*.yaml``): a ``forward_command_controller`` (``std_msgs/Float64MultiArray`` joint
positions), a ``joint_trajectory_controller`` (``trajectory_msgs/JointTrajectory``, one point a control
period ahead) or moveit_servo (``geometry_msgs/TwistStamped``). A Cartesian delta action becomes joint
positions by differential IK on the arm's kinematic model (MuJoCo loads the MJCF or URDF), scaled to
the joint velocity limits; the TCP target is clipped to the profile's workspace box. ``step`` commands,
waits out most of the control period and then reads the arm, so the returned state shows the action's
effect. ``arm_driver_node`` runs this env behind the safety shield and the robot topic contract.

Joint states older than ``STALE_PERIODS`` control periods are not acted on: a step then commands no
motion (moveit_servo gets a zero twist; position controllers keep their last target) and reports a
``stale_state`` safety event, and a reset waits up to ``timeout_s`` for fresh states before failing.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import TwistStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from drivers.robot_profile import RobotProfile
from drivers.ros_background import BackgroundNode
from drivers.ros_messages import twist_msg
from robot_rl.envs.interface import base_info, check_action, make_action_space, make_observation_space
from robot_rl.envs.tcp_target import TcpTarget
from robot_rl.errors import DeviceError
from robot_rl.geometry import quat_error
from sim.controller import DiffIKController

#: Share of the control period ``step`` waits before reading the arm (the rest is for the round trip).
SETTLE_FRACTION = 0.7
#: Joint states older than this many control periods are stale: no motion is commanded from them.
STALE_PERIODS = 3.0


class ArmNotFound(DeviceError):
    """No joint states from the arm: the controller stack (or fake_arm_node) is not running."""


class ControllerArmEnv(gym.Env):
    metadata = {"render_modes": [], "render_fps": 10}

    def __init__(
        self,
        profile: RobotProfile,
        control_hz: float = 10.0,
        action_scale: tuple[float, float] = (0.03, 0.15),
        timeout_s: float = 10.0,
    ) -> None:
        profile.check()
        self.profile, self.timeout_s = profile, timeout_s
        self.control_hz, self.period_s = float(control_hz), 1.0 / float(control_hz)
        self.action_scale = np.asarray(action_scale, dtype=np.float64)
        self.cameras: tuple[str, ...] = ()
        self.model = mujoco.MjModel.from_xml_path(str(profile.model_path()))
        self.data = mujoco.MjData(self.model)
        self._qadr = np.array([self.model.joint(j).qposadr[0] for j in profile.model_joints])
        self._dadr = np.array([self.model.joint(j).dofadr[0] for j in profile.model_joints])
        self._site = self.model.site(profile.tcp_site).id
        self.controller = DiffIKController(
            self.model,
            profile.model_joints,
            profile.tcp_site,
            np.array(profile.home_qpos),
            np.array(profile.max_joint_vel),
        )
        self.tcp_target = TcpTarget(
            self.action_scale, np.array(profile.workspace_low), np.array(profile.workspace_high),
            np.array(profile.home_quat), np.array(profile.rotation_limit),
        )  # fmt: skip
        self.workspace_low, self.workspace_high = self.tcp_target.low, self.tcp_target.high
        self.action_space = make_action_space()
        self.observation_space = make_observation_space(len(profile.arm_joints), wrench=False)

        self._ros = BackgroundNode("controller_arm", spin_timeout_s=0.05)
        self._node = self._ros.node
        self._lock = threading.Lock()
        self._joints: JointState | None = None
        self._joints_at = -float("inf")  # monotonic time the last joint state arrived
        self._node.create_subscription(JointState, profile.joint_states_topic, self._on_joints, 10)
        self._pub_forward = self._node.create_publisher(Float64MultiArray, profile.forward_position_topic, 10)
        self._pub_trajectory = self._node.create_publisher(
            JointTrajectory, profile.joint_trajectory_topic, 10
        )
        self._pub_servo = self._node.create_publisher(TwistStamped, profile.servo_twist_topic, 10)
        self._pub_gripper = self._node.create_publisher(Float64MultiArray, profile.gripper_command_topic, 10)
        self._ros.start()
        self._wait_for_joints()

    # ------------------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._wait_for_joints(fresh=True)
        self._command_gripper(1.0)
        self._move_home()
        self.tcp_target.reset(self._measure()["tcp_pose"][3:])
        return self._observation(), base_info(False)

    def step(self, action: np.ndarray):
        started = time.monotonic()
        action = check_action(action)
        state = self._measure()
        if self._state_age() > STALE_PERIODS * self.period_s or not np.all(np.isfinite(state["q"])):
            return self._hold_on_stale_state(started)
        target_pos, target_quat = self.tcp_target(state["tcp_pose"][:3], action)
        if self.profile.command_interface == "servo_twist":
            delta = np.concatenate(
                [target_pos - state["tcp_pose"][:3], quat_error(target_quat, state["tcp_pose"][3:])]
            )
            self._pub_servo.publish(
                twist_msg(delta[:3] / self.period_s, delta[3:] / self.period_s, self._stamp())
            )
        else:
            self._command_joints(self._solve(state["q"], target_pos, target_quat), self.period_s)
        self._command_gripper((1.0 - float(action[6])) / 2.0)
        time.sleep(max(0.0, started + SETTLE_FRACTION * self.period_s - time.monotonic()))
        return self._observation(), 0.0, False, False, base_info(False)

    def close(self) -> None:
        self._ros.close()

    def _hold_on_stale_state(self, started: float):
        """No motion from an old (or non-finite) reading: where the arm is now is unknown."""
        age = self._state_age()
        if self.profile.command_interface == "servo_twist":
            self._pub_servo.publish(twist_msg(np.zeros(3), np.zeros(3), self._stamp()))
        time.sleep(max(0.0, started + SETTLE_FRACTION * self.period_s - time.monotonic()))
        info = base_info(False)
        info["safety"] = [
            {"layer": "stale_state", "reason": f"joint states {age:.2f} s old or not finite: no motion"}
        ]
        return self._observation(), 0.0, False, False, info

    # ------------------------------------------------------------------------------------------ I/O
    def _on_joints(self, msg: JointState) -> None:
        with self._lock:
            self._joints, self._joints_at = msg, time.monotonic()

    def _state_age(self) -> float:
        with self._lock:
            return time.monotonic() - self._joints_at

    def _stamp(self):
        return self._node.get_clock().now().to_msg()

    def _wait_for_joints(self, fresh: bool = False) -> None:
        """Until a joint state arrived (``fresh``: a recent one), at most ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        while self._joints is None or (fresh and self._state_age() > STALE_PERIODS * self.period_s):
            if time.monotonic() > deadline:
                raise ArmNotFound(
                    f"no {'fresh ' if fresh else ''}{self.profile.joint_states_topic} within "
                    f"{self.timeout_s:g} s: start the arm's ros2_control bringup (or fake_arm_node for a "
                    "simulated one)"
                )
            time.sleep(0.02)
        names = list(self._joints.name)
        missing = [j for j in (*self.profile.arm_joints, self.profile.gripper_joint) if j not in names]
        if missing:
            raise ArmNotFound(
                f"{self.profile.joint_states_topic} lacks joints {missing} (it has {names}); "
                "fix robot.arm_joints"
            )

    def _command_joints(self, q: np.ndarray, seconds: float) -> None:
        if self.profile.command_interface == "forward_position":
            self._pub_forward.publish(Float64MultiArray(data=[float(v) for v in q]))
            return
        point = JointTrajectoryPoint(positions=[float(v) for v in q])
        point.time_from_start = Duration(sec=int(seconds), nanosec=int((seconds % 1.0) * 1e9))
        msg = JointTrajectory(joint_names=list(self.profile.arm_joints), points=[point])
        msg.header.stamp = self._stamp()
        self._pub_trajectory.publish(msg)

    def _command_gripper(self, opening: float) -> None:
        self._pub_gripper.publish(Float64MultiArray(data=[float(opening) * self.profile.gripper_open_m]))

    def _move_home(self) -> None:
        """To the home posture in ``reset_seconds``: interpolated at 50 Hz (one trajectory point if the
        controller interpolates itself), then wait until the arm is there."""
        home = np.array(self.profile.home_qpos)
        start, seconds = self._measure()["q"], self.profile.reset_seconds
        if self.profile.command_interface == "joint_trajectory":
            self._command_joints(home, seconds)
            time.sleep(seconds)
        else:
            steps = max(1, int(seconds * 50))
            for i in range(1, steps + 1):
                self._command_joints(start + (home - start) * i / steps, 0.02)
                time.sleep(seconds / steps)
        deadline = time.monotonic() + self.timeout_s
        while np.max(np.abs(self._measure()["q"] - home)) > 0.02 and time.monotonic() < deadline:
            time.sleep(0.02)

    # ------------------------------------------------------------------------------------------ kinematics
    def _measure(self) -> dict[str, np.ndarray]:
        with self._lock:
            msg = self._joints
        names = list(msg.name)
        idx = [names.index(j) for j in self.profile.arm_joints]
        position, velocity = np.asarray(msg.position), np.asarray(msg.velocity)
        q = position[idx]
        qd = velocity[idx] if len(velocity) else np.zeros(len(idx))
        finger = position[names.index(self.profile.gripper_joint)]
        self.data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self._site])
        jacp, jacr = np.zeros((3, self.model.nv)), np.zeros((3, self.model.nv))
        mujoco.mj_jacSite(self.model, self.data, jacp, jacr, self._site)
        tcp_vel = np.concatenate([jacp[:, self._dadr] @ qd, jacr[:, self._dadr] @ qd])
        return {
            "q": q, "qd": qd, "tcp_pose": np.concatenate([self.data.site_xpos[self._site], quat]),
            "tcp_vel": tcp_vel, "gripper_pos": np.array([finger / self.profile.gripper_open_m]),
        }  # fmt: skip

    def _solve(self, q: np.ndarray, target_pos: np.ndarray, target_quat: np.ndarray) -> np.ndarray:
        """IK for the (box-clipped) target, then a check of the joint command itself: its TCP must lie in
        the box, or nearer to it than the arm is now; otherwise the step is shortened until it does."""
        self.data.qpos[self._qadr] = q
        q_goal = self.controller.solve(self.data, target_pos, target_quat, self.period_s)
        allowed = self._outside(q) + 1e-4
        for share in (1.0, 0.5, 0.25, 0.125, 0.0):
            candidate = q + share * (q_goal - q)
            if self._outside(candidate) <= allowed:
                return candidate
        return q

    def _outside(self, q: np.ndarray) -> float:
        """Distance [m] from the TCP at joint angles ``q`` to the workspace box (0 inside)."""
        self.data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self.model, self.data)
        tcp = self.data.site_xpos[self._site]
        low, high = self.tcp_target.low, self.tcp_target.high
        return float(np.linalg.norm(np.maximum(low - tcp, 0.0) + np.maximum(tcp - high, 0.0)))

    def _observation(self) -> dict[str, Any]:
        m = self._measure()
        state = {"tcp_pose": m["tcp_pose"], "tcp_vel": m["tcp_vel"], "gripper_pos": m["gripper_pos"],
                 "joint_pos": m["q"], "joint_vel": m["qd"]}  # fmt: skip
        return {"state": {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}}

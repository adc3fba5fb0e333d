"""fake_arm_node: a simulated arm that plays ros2_control, so the real-robot path runs without a robot.

The MuJoCo Panda (pick-cube scene) runs in real time at ``physics_hz``; it publishes ``/joint_states``
with the robot profile's joint names and follows the profile's controller topics as the real controllers
would: ``forward_command_controller`` joint positions, ``joint_trajectory_controller`` trajectories
(linear interpolation to each point's time) and the gripper command (finger opening, m). Parameters:
``overrides`` (Hydra overrides of configs/driver.yaml, e.g. ``robot=fr3``).
"""

from __future__ import annotations

import shlex
import time

import mujoco
import numpy as np
import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from drivers.robot_profile import RobotProfile
from robot_rl.config import load_config, to_dataclass
from robot_rl.nodes.common import run_node
from sim.panda_env import ASSETS, FINGER_OPEN_M, HOME_QPOS

SCENE = ASSETS / "panda" / "pick_cube.xml"


class FakeArm:
    def __init__(self, node: Node, profile: RobotProfile, physics_hz: float) -> None:
        self.node, self.profile = node, profile
        self.model = mujoco.MjModel.from_xml_path(str(SCENE))
        self.data = mujoco.MjData(self.model)
        self.substeps = max(1, round(1.0 / (physics_hz * self.model.opt.timestep)))
        self._qadr = [self.model.joint(f"joint{i}").qposadr[0] for i in range(1, 8)]
        self._dadr = [self.model.joint(f"joint{i}").dofadr[0] for i in range(1, 8)]
        self._finger = self.model.joint("finger_joint1").qposadr[0]
        self._gripper = self.model.actuator("gripper").id
        self.data.qpos[self._qadr] = HOME_QPOS
        self.data.ctrl[:7] = HOME_QPOS
        self.data.qpos[self._finger : self._finger + 2] = FINGER_OPEN_M
        self.data.ctrl[self._gripper] = FINGER_OPEN_M
        mujoco.mj_forward(self.model, self.data)
        self.trajectory: tuple[float, np.ndarray, np.ndarray, float] | None = None  # t0, from, to, seconds
        self.pub = node.create_publisher(JointState, profile.joint_states_topic, 10)
        node.create_subscription(Float64MultiArray, profile.forward_position_topic, self._on_forward, 10)
        node.create_subscription(JointTrajectory, profile.joint_trajectory_topic, self._on_trajectory, 10)
        node.create_subscription(Float64MultiArray, profile.gripper_command_topic, self._on_gripper, 10)
        node.create_timer(self.substeps * self.model.opt.timestep, self._tick)
        node.get_logger().info(
            f"fake {profile.name} arm: {profile.joint_states_topic}, {profile.command_interface}"
        )

    def _on_forward(self, msg: Float64MultiArray) -> None:
        q = np.asarray(msg.data, dtype=np.float64)
        if q.shape != (7,) or not np.all(np.isfinite(q)):
            self.node.get_logger().error(
                f"ignored joint command {list(msg.data)}: expected 7 finite positions"
            )
            return
        self.trajectory = None
        self.data.ctrl[:7] = q

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not msg.points:
            return
        names = list(msg.joint_names)
        order = [names.index(j) for j in self.profile.arm_joints]
        point = msg.points[-1]
        seconds = point.time_from_start.sec + point.time_from_start.nanosec * 1e-9
        goal = np.asarray(point.positions, dtype=np.float64)[order]
        self.trajectory = (time.monotonic(), self.data.ctrl[:7].copy(), goal, max(seconds, 1e-3))

    def _on_gripper(self, msg: Float64MultiArray) -> None:
        if len(msg.data) == 1 and np.isfinite(msg.data[0]):
            self.data.ctrl[self._gripper] = float(np.clip(msg.data[0], 0.0, FINGER_OPEN_M))

    def _tick(self) -> None:
        if self.trajectory is not None:
            t0, start, goal, seconds = self.trajectory
            share = min(1.0, (time.monotonic() - t0) / seconds)
            self.data.ctrl[:7] = start + (goal - start) * share
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        finger = float(self.data.qpos[self._finger])
        msg = JointState(name=[*self.profile.arm_joints, self.profile.gripper_joint])
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.position = [*map(float, self.data.qpos[self._qadr]), finger]
        msg.velocity = [*map(float, self.data.qvel[self._dadr]), 0.0]
        self.pub.publish(msg)


def body(node: Node) -> int:
    overrides = node.declare_parameter(
        "overrides", "", ParameterDescriptor(description="Hydra overrides of configs/driver.yaml")
    ).value
    cfg = load_config("driver", shlex.split(overrides))
    FakeArm(node, to_dataclass(RobotProfile, cfg.robot, "robot"), float(cfg.physics_hz))
    rclpy.spin(node)
    return 0


def main() -> int:
    return run_node("fake_arm", body)


if __name__ == "__main__":
    raise SystemExit(main())

"""arm_driver_node: a real arm under ros2_control behind the robot topic contract (drivers/topics.py).

``ControllerArmEnv`` (drivers/ros_controller_arm.py) turns actions into controller commands through
differential IK on the arm's model; ``RobotNode`` puts it behind the safety shield, the command
watchdog and the e-stop, and speaks the topics ``RosRobotEnv`` reads. Always real time (``control_hz``).
Parameters: ``overrides`` (Hydra overrides of configs/driver.yaml: ``robot=fr3``, ``control_hz=...``,
``safety.workspace_low=...``).
"""

from __future__ import annotations

import shlex

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from drivers.robot_profile import RobotProfile
from drivers.ros_controller_arm import ControllerArmEnv
from robot_rl.config import load_config, to_dataclass
from robot_rl.nodes.common import run_node
from robot_rl.nodes.robot_node import serve
from robot_rl.safety.config import safety_config
from robot_rl.safety.shield import SafetyShield


def body(node: Node) -> int:
    overrides = node.declare_parameter(
        "overrides", "", ParameterDescriptor(description="Hydra overrides of configs/driver.yaml")
    ).value
    cfg = load_config("driver", shlex.split(overrides))
    profile = to_dataclass(RobotProfile, cfg.robot, "robot")
    arm = ControllerArmEnv(profile, float(cfg.control_hz), tuple(cfg.action_scale))
    env = SafetyShield(arm, safety_config(cfg))
    joint_names = [*profile.arm_joints, profile.gripper_joint]
    return serve(node, env, realtime=True, joint_names=joint_names, gripper_open_m=profile.gripper_open_m)


def main() -> int:
    return run_node("arm_driver", body)


if __name__ == "__main__":
    raise SystemExit(main())

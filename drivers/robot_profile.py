"""A robot profile (``configs/robot/*.yaml``): model, joint and topic names, limits of one arm."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from robot_rl.errors import ConfigError

COMMAND_INTERFACES = ("forward_position", "joint_trajectory", "servo_twist")


@dataclass
class RobotProfile:
    name: str = "fr3"
    model: str = "sim/assets/panda/panda_kinematics.xml"
    model_joints: list[str] = field(default_factory=list)
    tcp_site: str = "tcp"
    arm_joints: list[str] = field(default_factory=list)
    gripper_joint: str = "fr3_finger_joint1"
    gripper_open_m: float = 0.04
    joint_states_topic: str = "/joint_states"
    command_interface: str = "forward_position"
    forward_position_topic: str = "/forward_position_controller/commands"
    joint_trajectory_topic: str = "/fr3_arm_controller/joint_trajectory"
    servo_twist_topic: str = "/servo_node/delta_twist_cmds"
    gripper_command_topic: str = "/fr3_gripper/commands"
    home_qpos: list[float] = field(default_factory=list)
    max_joint_vel: list[float] = field(default_factory=list)
    home_quat: list[float] = field(default_factory=lambda: [0.0, 1.0, 0.0, 0.0])
    workspace_low: list[float] = field(default_factory=list)
    workspace_high: list[float] = field(default_factory=list)
    rotation_limit: list[float] = field(default_factory=lambda: [0.5, 0.5, 1.2])
    reset_seconds: float = 3.0

    def check(self) -> None:
        if self.command_interface not in COMMAND_INTERFACES:
            raise ConfigError(
                f"robot.command_interface={self.command_interface!r} is not one of {list(COMMAND_INTERFACES)}"
            )
        n = len(self.arm_joints)
        for name in ("model_joints", "home_qpos", "max_joint_vel"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"robot.{name} has {len(getattr(self, name))} entries, arm_joints has {n}")
        if len(self.workspace_low) != 3 or len(self.workspace_high) != 3:
            raise ConfigError(
                "robot.workspace_low/high must be [x, y, z]; calibrate them (docs/real_robot.md)"
            )

    def model_path(self) -> Path:
        path = Path(self.model)
        if not path.is_absolute():
            path = Path(__file__).resolve().parents[1] / path
        if not path.is_file():
            raise ConfigError(f"robot.model={self.model} not found; point it at the arm's MJCF or URDF file")
        return path

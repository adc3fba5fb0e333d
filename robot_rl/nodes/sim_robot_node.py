"""sim_robot_node: the task's simulated arm (MuJoCo or PyBullet, all 7 DoF) behind the topics a real
driver uses (``drivers/topics.py``), with the safety shield, watchdog and e-stop of ``RobotNode``.

Parameters: ``overrides`` (Hydra overrides of configs/train.yaml: the task and the safety limits),
``realtime`` (true: ticks at control_hz like hardware; false: lockstep, one step per command pair),
``seed`` (of the next reset, -1: none), ``gripper_open_m`` (finger opening at gripper_pos = 1).
"""

from __future__ import annotations

import shlex

import gymnasium as gym
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

import robot_rl  # noqa: F401  (registers the env ids)
from robot_rl.config import load_config, task_config
from robot_rl.nodes.common import run_node
from robot_rl.nodes.robot_node import serve
from robot_rl.safety.config import safety_config
from robot_rl.safety.shield import SafetyShield

JOINT_NAMES = [*(f"joint{i}" for i in range(1, 8)), "finger_joint1"]


def body(node: Node) -> int:
    overrides = node.declare_parameter(
        "overrides", "", ParameterDescriptor(description="Hydra overrides of configs/train.yaml")
    ).value
    realtime = node.declare_parameter("realtime", True).value
    gripper_open_m = node.declare_parameter("gripper_open_m", 0.04).value
    cfg = load_config("train", shlex.split(overrides))
    task = task_config(cfg.task)
    env = SafetyShield(
        gym.make(task.env_id, disable_env_checker=True, **task.env_kwargs()), safety_config(cfg)
    )
    return serve(node, env, realtime=realtime, joint_names=JOINT_NAMES, gripper_open_m=gripper_open_m)


def main() -> int:
    return run_node("sim_robot", body)


if __name__ == "__main__":
    raise SystemExit(main())

"""Gymnasium ids of the project's envs. Entry points are strings, so importing robot_rl loads no simulator."""

from __future__ import annotations

import gymnasium as gym

#: id -> (entry point, max_episode_steps at control_hz=10)
ENVS: dict[str, tuple[str, int]] = {
    "robot_rl/PandaPickCube-v0": ("sim.tasks.pick_cube:PandaPickCubeEnv", 100),
    "robot_rl/PandaPegInsert-v0": ("sim.tasks.peg_insert:PandaPegInsertEnv", 100),
    "robot_rl/PandaPickCubeBullet-v0": ("sim.bullet.pick_cube:PandaPickCubeBulletEnv", 100),
    # Any arm behind the robot topic contract (drivers/topics.py): a real driver or sim_robot_node.
    "robot_rl/RosRobot-v0": ("drivers.ros_robot_env:RosRobotEnv", 100),
}


def register_envs() -> None:
    """Register every id once (idempotent, so re-importing is harmless)."""
    for env_id, (entry_point, max_steps) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=entry_point, max_episode_steps=max_steps)

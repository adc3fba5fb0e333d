"""A stand-in actor for the ROS safety tests (run as a script): steps ``RosRobotEnv`` with a moving
action forever, reversing direction every 8 steps so the arm stays in its box.

    python tests/ros_commander.py NAMESPACE CONTROL_HZ
"""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np

import robot_rl  # noqa: F401  (registers the ids)


def main() -> None:
    namespace, hz = sys.argv[1], float(sys.argv[2])
    env = gym.make("robot_rl/RosRobot-v0", disable_env_checker=True, namespace=namespace, control_hz=hz)
    env.reset(seed=0)
    step = 0
    while True:
        direction = 1.0 if (step // 8) % 2 == 0 else -1.0
        env.step(np.array([0, direction, 0, 0, 0, 0, -1], np.float32))
        step += 1


if __name__ == "__main__":
    main()

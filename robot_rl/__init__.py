"""robot_rl: sample-efficient robot learning behind one env interface shared by simulation and real arms.

Importing this package registers the gymnasium ids (``robot_rl/PandaPickCube-v0`` ...) and imports
neither ROS (rclpy) nor a simulator.
"""

from robot_rl.envs.registration import register_envs

__version__ = "0.1.0"

register_envs()

"""The project's launcher for ROS 2 YAML launch files, for machines without a ROS 2 install.

``robot-rl launch launch/<file>.launch.yaml [name:=value ...]`` runs what ``ros2 launch robot_rl <file>``
runs: :mod:`~robot_rl.launch.parser` reads the file with ros2 launch's rules (unknown keys rejected with
its wording), :mod:`~robot_rl.launch.resolve` evaluates arguments, groups, namespaces and includes into
:class:`~robot_rl.launch.node.NodeLaunch` specs with launch_ros's command lines, and
:class:`~robot_rl.launch.runner.Runner` supervises the processes. Nothing here imports rclpy;
``ament_index_python`` is imported only to find packages. See docs/launch.md for the supported subset.
"""

from __future__ import annotations

from robot_rl.launch.errors import LaunchError
from robot_rl.launch.node import NodeLaunch
from robot_rl.launch.resolve import declared_args, resolve
from robot_rl.launch.runner import Runner

__all__ = ["LaunchError", "NodeLaunch", "Runner", "declared_args", "resolve"]

"""recorder_node: ``robot-rl record-demos`` as a ROS 2 node, so a launch file can start it beside the
robot, the cameras and teleop_node (launch/record_demos_real.launch.yaml).

Parameter: ``overrides``, Hydra overrides of configs/record_demos.yaml (``task=real_arm
device=teleop_topic n=20 out=data/teleop_real_arm.hdf5``). It exits when ``n`` episodes are kept.
"""

from __future__ import annotations

import shlex

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from robot_rl.commands import record_demos
from robot_rl.config import load_config
from robot_rl.nodes.common import run_node


def body(node: Node) -> int:
    overrides = node.declare_parameter(
        "overrides", "", ParameterDescriptor(description="Hydra overrides of configs/record_demos.yaml")
    ).value
    return record_demos.run(load_config("record_demos", shlex.split(overrides)))


def main() -> int:
    return run_node("recorder", body)


if __name__ == "__main__":
    raise SystemExit(main())

"""teleop_node: a teleop device (configs/device/*.yaml), read at ``rate_hz``, as standard messages.

=========================  ============================  ===============================================
topic                      type                          meaning
=========================  ============================  ===============================================
``teleop/state``           ``sensor_msgs/Joy``             the tick in one stamped message, for the
                                                          ``teleop_topic`` reader: axes = action (7, in
                                                          [-1, 1]), buttons = [intervening]
``teleop/twist``           ``geometry_msgs/TwistStamped``  action[:3] x max_linear_speed [m/s],
                                                          action[3:6] x max_angular_speed [rad/s], base
``teleop/gripper``         ``std_msgs/Float64``            -1 open ... +1 close
``teleop/intervening``     ``std_msgs/Bool``               the operator holds control
``teleop/events``          ``std_msgs/String``             success | failure | discard, one message each
``teleop/episode``         ``std_msgs/UInt32``             subscribed: the reader started an episode; the
                                                          device's toggles reset, input queued is dropped
=========================  ============================  ===============================================

The ``teleop_topic`` device (drivers/teleop/ros_teleop_topic.py) reads them back in another process.
Parameters: ``device`` (a name of configs/device/*.yaml: keyboard, gamepad, spacemouse, joy, ...),
``overrides`` (Hydra overrides of that file, e.g. ``"deadzone=0.2 path=/dev/input/event5"``),
``rate_hz`` (30), ``max_linear_speed`` (0.1), ``max_angular_speed`` (0.5). A device that is not there
ends the node with one message listing what was found.
"""

from __future__ import annotations

import shlex

import numpy as np
import rclpy
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import Bool, Float64, Header, String, UInt32

from drivers.ros_messages import twist_msg
from drivers.teleop import load_device
from drivers.teleop.device import EVENTS
from drivers.teleop.ros_teleop_topic import EPISODE_QOS, teleop_topics
from robot_rl.errors import ConfigError
from robot_rl.nodes.common import declare, run_node


def body(node: Node) -> int:
    device_name = declare(node, "device", "keyboard")
    overrides = declare(node, "overrides", "")
    rate_hz = declare(node, "rate_hz", 30.0)
    max_linear = declare(node, "max_linear_speed", 0.1)
    max_angular = declare(node, "max_angular_speed", 0.5)
    if rate_hz <= 0 or max_linear <= 0 or max_angular <= 0:
        raise ConfigError(
            f"rate_hz={rate_hz}, max_linear_speed={max_linear} and "
            f"max_angular_speed={max_angular} must be > 0"
        )
    device = load_device(device_name, shlex.split(overrides))
    names = teleop_topics()
    state_pub = node.create_publisher(Joy, names["state"], 10)
    twist = node.create_publisher(TwistStamped, names["twist"], 10)
    gripper = node.create_publisher(Float64, names["gripper"], 10)
    intervening = node.create_publisher(Bool, names["intervening"], 10)
    events = node.create_publisher(String, names["events"], 10)
    speeds = np.array([max_linear] * 3 + [max_angular] * 3)

    holding = [False]  # the operator's control, logged when it changes

    def tick() -> None:
        state = device.read()
        if state.intervening != holding[0]:
            holding[0] = state.intervening
            node.get_logger().info("operator takes over" if state.intervening else "operator hands back")
        stamp = node.get_clock().now().to_msg()
        state_pub.publish(
            Joy(header=Header(stamp=stamp), axes=state.action.tolist(), buttons=[int(state.intervening)])
        )
        velocity = state.action[:6] * speeds
        twist.publish(twist_msg(velocity[:3], velocity[3:], stamp))
        gripper.publish(Float64(data=float(state.action[6])))
        intervening.publish(Bool(data=state.intervening))
        for event in sorted(state.events, key=EVENTS.index):
            node.get_logger().info(f"operator: {event}")
            events.publish(String(data=event))

    def episode_started(msg: UInt32) -> None:
        device.forget_events()  # as an in-process device at reset: toggles as the env starts, no stale input
        holding[0] = False
        node.get_logger().info(f"episode {msg.data} started: the arm is at its start pose")

    node.create_timer(1.0 / rate_hz, tick)
    node.create_subscription(UInt32, names["episode"], episode_started, EPISODE_QOS)
    node.get_logger().info(
        f"teleop device {device_name!r} ({device.name}) at {rate_hz:g} Hz -> "
        f"{node.resolve_topic_name(names['state'])}, .../twist, .../gripper, .../intervening, .../events"
    )
    try:
        rclpy.spin(node)
    finally:
        device.close()
    return 0


def main() -> int:
    return run_node("teleop", body)


if __name__ == "__main__":
    raise SystemExit(main())

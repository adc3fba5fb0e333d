"""Any ROS joystick as a teleop device: a ``sensor_msgs/Joy`` topic (joy_node, spacenav_node, ...).

Raw names: ``axis<i>`` for ``msg.axes[i]`` (already in [-1, 1]) and ``button<i>`` for
``msg.buttons[i]``, mapped by configs/device/joy.yaml like any device. If no message arrives within
``timeout_s`` of start, ``DeviceNotFound`` names the topic and lists the Joy topics in the graph. If the
driver goes silent for ``stale_s`` (joy_node repeats its state at 20 Hz by default), the axes read 0
and the buttons up, so a dead driver never leaves the arm moving.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sensor_msgs.msg import Joy as JoyMsg

from drivers.teleop.device import TeleopDevice, TeleopState
from drivers.teleop.mapping import Mapping, MappingConfig, RawState
from drivers.teleop.ros_listener import RosListener


@dataclass
class JoyConfig(MappingConfig):
    topic: str = "joy"  # sensor_msgs/Joy topic
    timeout_s: float = 5.0  # wait this long for the first message at start
    stale_s: float = 1.0  # no message for this long: axes 0, buttons up; 0: never


class Joy(TeleopDevice):
    name = "joy"
    Config = JoyConfig

    def __init__(self, cfg: JoyConfig) -> None:
        self.cfg = cfg
        self.mapping = Mapping(cfg)
        self._raw = RawState()
        self._lock = threading.Lock()
        self._received = time.monotonic()
        self._ros = RosListener("teleop_joy")
        self._ros.subscribe(JoyMsg, cfg.topic, self._on_joy)
        self._ros.wait_for_first(
            cfg.timeout_s,
            cfg.topic,
            "sensor_msgs/msg/Joy",
            "Start the joystick driver (ros2 run joy joy_node; spacenav: spacenav_node publishes "
            "spacenav/joy) or set topic: to one of those",
        )

    def _on_joy(self, msg: JoyMsg) -> None:
        for i, value in enumerate(msg.axes):
            self._raw.set_axis(f"axis{i}", value)
        self._raw.set_buttons(f"button{i}" for i, down in enumerate(msg.buttons) if down)
        with self._lock:
            self._received = time.monotonic()

    def read(self) -> TeleopState:
        with self._lock:
            silent_s = time.monotonic() - self._received
        if self.cfg.stale_s > 0 and silent_s > self.cfg.stale_s:
            self._raw.clear()
        return self.mapping(self._raw.take())

    def close(self) -> None:
        self._ros.close()

"""The operator of another process: the topics teleop_node publishes, read back as a teleop device.

So an actor or recorder in one process gets the state of a device read by ``teleop_node`` in another
(next to the operator's terminal or joystick). Topics, under ``prefix`` (``teleop``), standard messages:

=====================  ===========================  ==================================================
``<prefix>/twist``     ``geometry_msgs/TwistStamped``  action[:6] x max_linear_speed / max_angular_speed
``<prefix>/gripper``   ``std_msgs/Float64``            action[6]: -1 open ... +1 close
``<prefix>/intervening`` ``std_msgs/Bool``             the operator holds control
``<prefix>/events``    ``std_msgs/String``             success | failure | discard, one message each
=====================  ===========================  ==================================================

``max_linear_speed`` and ``max_angular_speed`` must be teleop_node's. A twist older than ``stale_s``
reads as no motion and not intervening, so a dead teleop_node hands control back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import TwistStamped
from std_msgs.msg import Bool, Float64, String

from drivers.msg_decode import twist_from_msg
from drivers.teleop.device import EVENTS, TeleopDevice, TeleopState
from drivers.teleop.mapping import DeviceConfig
from drivers.teleop.ros_listener import RosListener


def teleop_topics(prefix: str = "teleop") -> dict[str, str]:
    return {part: f"{prefix}/{part}" for part in ("twist", "gripper", "intervening", "events")}


@dataclass
class TeleopTopicConfig(DeviceConfig):
    prefix: str = "teleop"  # teleop_node's topics are <prefix>/twist, ...
    max_linear_speed: float = 0.1  # m/s at |action| = 1; teleop_node's parameter of the same name
    max_angular_speed: float = 0.5  # rad/s at |action| = 1; idem
    timeout_s: float = 5.0  # wait this long for the first twist at start
    stale_s: float = 0.5  # no twist for this long: no motion, not intervening


class TeleopTopic(TeleopDevice):
    name = "teleop_topic"
    Config = TeleopTopicConfig

    def __init__(self, cfg: TeleopTopicConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._action = np.zeros(7, dtype=np.float32)
        self._action[6] = -1.0
        self._intervening = False
        self._events: set[str] = set()
        self._received = time.monotonic()
        self._speeds = np.array([cfg.max_linear_speed] * 3 + [cfg.max_angular_speed] * 3)
        names = teleop_topics(cfg.prefix)
        self._ros = RosListener("teleop_topic")
        self._ros.subscribe(Float64, names["gripper"], self._on_gripper)
        self._ros.subscribe(Bool, names["intervening"], self._on_intervening)
        self._ros.subscribe(String, names["events"], self._on_event)
        self._ros.subscribe(TwistStamped, names["twist"], self._on_twist)
        self._ros.wait_for_first(
            cfg.timeout_s,
            names["twist"],
            "geometry_msgs/msg/TwistStamped",
            "Start teleop_node (ros2 run robot_rl teleop_node --ros-args -p device:=keyboard) or set prefix:",
        )

    def _on_twist(self, msg: TwistStamped) -> None:
        velocity = twist_from_msg(msg)
        with self._lock:
            self._action[:6] = np.clip(velocity / self._speeds, -1.0, 1.0)
            self._received = time.monotonic()

    def _on_gripper(self, msg: Float64) -> None:
        with self._lock:
            self._action[6] = np.clip(msg.data, -1.0, 1.0)

    def _on_intervening(self, msg: Bool) -> None:
        with self._lock:
            self._intervening = bool(msg.data)

    def _on_event(self, msg: String) -> None:
        if msg.data in EVENTS:
            with self._lock:
                self._events.add(msg.data)

    def forget_events(self) -> None:
        with self._lock:
            self._events.clear()

    def read(self) -> TeleopState:
        with self._lock:
            action, intervening = self._action.copy(), self._intervening
            events, self._events = frozenset(self._events), set()
            stale = time.monotonic() - self._received > self.cfg.stale_s
        if stale:
            action[:6] = 0.0
            intervening = False
        return TeleopState(action, intervening, events)

    def close(self) -> None:
        self._ros.close()

"""The operator of another process: the topics teleop_node publishes, read back as a teleop device.

So an actor or recorder in one process gets the state of a device read by ``teleop_node`` in another
(next to the operator's terminal or joystick). Topics, under ``prefix`` (``teleop``), standard messages:

=====================  ===========================  ==================================================
``<prefix>/state``     ``sensor_msgs/Joy``             one tick of the device, stamped: axes = action
                                                      (7 values in [-1, 1]), buttons = [intervening]
``<prefix>/events``    ``std_msgs/String``             success | failure | discard, one message each
``<prefix>/episode``   ``std_msgs/UInt32``             published here: an episode started (its count)
=====================  ===========================  ==================================================

The whole state comes in one message, so a read never pairs one tick's ``intervening`` with another
tick's gripper (teleop_node's ``twist``, ``gripper`` and ``intervening`` topics, for bags and viewers,
arrive in no fixed order).

The ``episode`` message (transient local, so a teleop_node that joins late still gets the last one) is
``forget_events`` crossing the process boundary: teleop_node resets its device's toggles and drops what
was pressed while the arm reset, as a device read in-process does.

A state older than ``stale_s`` reads as no motion and not intervening, so a dead teleop_node hands
control back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Joy
from std_msgs.msg import String, UInt32

from drivers.teleop.device import EVENTS, TeleopDevice, TeleopState
from drivers.teleop.mapping import DeviceConfig
from drivers.teleop.ros_listener import RosListener
from drivers.topics import stamp_seconds


def teleop_topics(prefix: str = "teleop") -> dict[str, str]:
    parts = ("state", "twist", "gripper", "intervening", "events", "episode")
    return {part: f"{prefix}/{part}" for part in parts}


# the last episode start stays available to a teleop_node that subscribes later (or restarts)
EPISODE_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass
class TeleopTopicConfig(DeviceConfig):
    prefix: str = "teleop"  # teleop_node's topics are <prefix>/state, <prefix>/events, ...
    timeout_s: float = 5.0  # wait this long for the first state at start
    stale_s: float = 0.5  # no state for this long: no motion, not intervening
    # after an episode starts, teleop_node's state counts from states stamped this much later: by then
    # the episode message has reached it and its device was reset
    episode_sync_s: float = 0.1


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
        self._forgot_at = 0.0  # wall time of the last episode start: older states are the last episode's
        self._settling_until = 0.0  # monotonic; until then, or a state from after the start, ignore input
        names = teleop_topics(cfg.prefix)
        self._ros = RosListener("teleop_topic")
        self._ros.subscribe(String, names["events"], self._on_event)
        self._ros.subscribe(Joy, names["state"], self._on_state)
        self._episode_pub = self._ros.node.create_publisher(UInt32, names["episode"], EPISODE_QOS)
        self._episodes = 0
        self._ros.wait_for_first(
            cfg.timeout_s,
            names["state"],
            "sensor_msgs/msg/Joy",
            "Start teleop_node (ros2 run robot_rl teleop_node --ros-args -p device:=keyboard) or set prefix:",
        )

    def _settling(self) -> bool:
        return time.monotonic() < self._settling_until

    def _on_state(self, msg: Joy) -> None:
        if len(msg.axes) != 7 or len(msg.buttons) != 1:
            self._ros.node.get_logger().error(
                f"{self._ros.node.resolve_topic_name(teleop_topics(self.cfg.prefix)['state'])} carries "
                f"{len(msg.axes)} axes and {len(msg.buttons)} buttons, not teleop_node's 7 and 1: ignored; "
                "point prefix at a teleop_node",
                throttle_duration_sec=5.0,
            )
            return
        with self._lock:
            if (
                self._settling()
                and stamp_seconds(msg.header.stamp) < self._forgot_at + self.cfg.episode_sync_s
            ):
                return  # sent before teleop_node knew of the new episode
            self._settling_until = 0.0  # teleop_node's state from this episode on
            self._action[:] = np.clip(np.asarray(msg.axes[:7], dtype=np.float32), -1.0, 1.0)
            self._intervening = bool(msg.buttons[0])
            self._received = time.monotonic()

    def _on_event(self, msg: String) -> None:
        with self._lock:
            if msg.data in EVENTS and not self._settling():
                self._events.add(msg.data)

    def forget_events(self) -> None:
        """A new episode: the operator's state starts as the env does (no motion, gripper open, policy in
        control) until teleop_node's first state stamped ``episode_sync_s`` after now; teleop_node resets
        its device meanwhile. The wait is bounded by ``stale_s`` + ``episode_sync_s``, so a teleop_node
        whose clock lags still takes over after it."""
        with self._lock:
            self._events.clear()
            self._action[:] = 0.0
            self._action[6] = -1.0
            self._intervening = False
            self._forgot_at = time.time()
            self._settling_until = time.monotonic() + self.cfg.stale_s + self.cfg.episode_sync_s
        self._episodes += 1
        self._episode_pub.publish(UInt32(data=self._episodes))  # teleop_node forgets on its side too

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

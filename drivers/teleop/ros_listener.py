"""A teleop device's own rclpy node (``drivers.ros_background.BackgroundNode``) with the wait for its
first message.

So a ROS-backed device works inside any process, a ROS node or not, and ``close`` ends only its own.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

from drivers.ros_background import BackgroundNode
from drivers.teleop.device import DeviceNotFound

_instances = itertools.count()


class RosListener:
    def __init__(self, name: str) -> None:
        self._ros = BackgroundNode(f"{name}_{os.getpid()}_{next(_instances)}").start()
        self.node = self._ros.node
        self._first = threading.Event()

    def subscribe(self, msg_type: type, topic: str, callback: Callable[[Any], None]) -> None:
        """Subscribe; any message on any subscribed topic counts for ``wait_for_first``."""

        def received(msg: Any) -> None:
            callback(msg)
            self._first.set()

        self.node.create_subscription(msg_type, topic, received, 10)

    def wait_for_first(self, timeout_s: float, topic: str, msg_type: str, fix: str) -> None:
        """Return once a message arrived; else close and raise ``DeviceNotFound`` naming the publishers."""
        if self._first.wait(timeout_s):
            return
        resolved = self.node.resolve_topic_name(topic)
        published = sorted(  # the graph also holds this device's own subscription: publishers only
            name
            for name, types in self.node.get_topic_names_and_types()
            if msg_type in types and self.node.count_publishers(name) > 0
        )
        self.close()
        raise DeviceNotFound(
            f"no {msg_type} message on {resolved} within {timeout_s:g} s; {msg_type} topics published: "
            f"{', '.join(published) or 'none'} (ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')}). {fix}"
        )

    def close(self) -> None:
        self._ros.close()

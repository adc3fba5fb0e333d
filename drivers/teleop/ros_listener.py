"""An rclpy node of a teleop device's own: own Context, spun on a background thread (as RosRobotEnv).

So a ROS-backed device works inside any process, a ROS node or not, and ``close`` ends only its own.
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor

from drivers.teleop.device import DeviceNotFound

_instances = itertools.count()


class RosListener:
    def __init__(self, name: str) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"{name}_{os.getpid()}_{next(_instances)}", context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._spin, name=name, daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a daemon thread inside rclpy must not outlive the interpreter

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception:  # shutdown while spinning
                if self.context.ok():
                    raise

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
        atexit.unregister(self.close)
        if self.context.ok():
            self.context.try_shutdown()
            self._thread.join(timeout=2.0)
            self._executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()

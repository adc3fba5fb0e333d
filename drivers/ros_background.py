"""An rclpy node with its own Context, spun on a daemon thread: ROS I/O inside any process.

``RosRobotEnv``, ``RosControllerArm`` and the ROS teleop devices each own one, so they work in a plain
script, in a test or inside another ROS node's process, and ``close`` ends only their own Context.
Create the node's subscriptions, publishers and clients, then ``start`` the spinning thread.
"""

from __future__ import annotations

import atexit
import threading

import rclpy
from rclpy.executors import SingleThreadedExecutor


class BackgroundNode:
    def __init__(self, name: str, namespace: str = "", spin_timeout_s: float = 0.1) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._spin_timeout_s = spin_timeout_s
        self._thread = threading.Thread(target=self._spin, name=name, daemon=True)

    def start(self) -> BackgroundNode:
        self._thread.start()
        atexit.register(self.close)  # a daemon thread inside rclpy must not outlive the interpreter
        return self

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=self._spin_timeout_s)
            except Exception:  # shutdown while spinning
                if self.context.ok():
                    raise
                return

    def close(self) -> None:
        """Shut the Context down, join the thread, destroy the node; a second call does nothing."""
        atexit.unregister(self.close)
        if self.context.ok():
            self.context.try_shutdown()
            if self._thread.is_alive():
                self._thread.join(timeout=2.0)
            self._executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()

"""Helpers for tests that start processes: loopback ROS discovery, a random domain, ends by PID."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def ros_environ(log_dir: Path, domain_id: int | None = None) -> dict[str, str]:
    """This process's environment with discovery on loopback and a random ROS_DOMAIN_ID (1-100)."""
    env = dict(os.environ)
    env.update(
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_DOMAIN_ID=str(domain_id or random.randint(1, 100)),
        AMENT_PREFIX_PATH=str(Path(sys.prefix)),
        MUJOCO_GL="egl",
        ROS_LOG_DIR=str(log_dir),
    )
    return env


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start a process (output to ``log``); on exit terminate it by PID, wait, kill if it hangs."""
    with open(log, "w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            stop(proc, timeout_s=10)


def stop(proc: subprocess.Popen, timeout_s: float = 5) -> None:
    """End a process this test started: terminate by PID, wait, kill if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


class RosProbe:
    """A test-side rclpy node on its own context and spinning thread: records messages, calls services."""

    def __init__(self, name: str = "probe") -> None:
        import threading

        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.records: dict[str, list] = {}
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:
                if self.context.ok():
                    raise

    def record(self, msg_type: type, topic: str) -> list:
        """``[(monotonic receive time, message), ...]``, appended as messages arrive."""
        import time

        log = self.records.setdefault(topic, [])
        self.node.create_subscription(msg_type, topic, lambda m: log.append((time.monotonic(), m)), 50)
        return log

    def call(self, srv_type: type, name: str, timeout_s: float = 10.0):
        client = self.node.create_client(srv_type, name)
        assert client.wait_for_service(timeout_sec=timeout_s), f"service {name} not available"
        future = client.call_async(srv_type.Request())
        import time

        deadline = time.monotonic() + timeout_s
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert future.done(), f"service {name} did not answer"
        return future.result()

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(timeout=2)
        self.node.destroy_node()

"""Holding a loop at an env's control rate (a person or a robot on the other end of the env)."""

from __future__ import annotations

import time

import gymnasium as gym


class Pacer:
    """``wait()`` after each step sleeps until the next control tick (``1 / control_hz`` apart). It never
    sleeps with ``realtime=False``, nor on an env clocked by its robot (``paced_by_robot``: a step of
    RosRobotEnv already returns at the robot's next tick)."""

    def __init__(self, env: gym.Env, control_hz: float | None = None, realtime: bool = True) -> None:
        """``control_hz``: the task's rate; None reads the env's own (10 Hz for an env that has none)."""
        if control_hz is None:
            control_hz = float(getattr(env.unwrapped, "control_hz", 10.0))
        paced = getattr(env.unwrapped, "paced_by_robot", False)
        self.period_s = 1.0 / control_hz if realtime and not paced else 0.0
        self.next_tick = time.monotonic()

    def restart(self) -> None:
        """Count ticks from now (after a reset)."""
        self.next_tick = time.monotonic()

    def wait(self) -> None:
        """Sleep to the next tick. After an overrun (a step that took longer than a period) the missed
        ticks are skipped, not made up: commands never go out back to back to catch up."""
        if self.period_s:
            self.next_tick += self.period_s
            now = time.monotonic()
            self.next_tick = max(self.next_tick, now)
            time.sleep(self.next_tick - now)

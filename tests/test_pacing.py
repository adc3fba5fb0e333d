"""Pacer: loops at the control rate, and an overrun is not made up with a burst of steps."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from robot_rl.envs.pacing import Pacer


def test_an_overrun_is_not_made_up_with_back_to_back_steps() -> None:
    env = SimpleNamespace(unwrapped=SimpleNamespace(control_hz=20.0))  # 50 ms ticks
    pacer = Pacer(env)
    pacer.restart()
    time.sleep(0.3)  # one step stalls for six periods
    pacer.wait()
    ticks = [time.monotonic()]
    for _ in range(4):
        pacer.wait()
        ticks.append(time.monotonic())
    assert np.all(np.diff(ticks) > 0.04), f"steps ran back to back after the stall: {np.diff(ticks)}"

"""A scripted operator, for tests and experiments: timed segments from config, one step per ``read()``.

Each segment holds an ``action`` (7 values in [-1, 1]) and ``intervening`` for ``steps`` reads; its
``events`` are reported once, at its first read. After the last segment the operator lets go: no
motion, not intervening, the gripper as last commanded; with ``loop: true`` the script starts over.
By default one script spans the episodes it is read in; with ``restart: true`` each episode (a call of
``forget_events``, e.g. over ROS from the recorder to teleop_node) starts it over, as a person would.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

import numpy as np

from drivers.teleop.device import EVENTS, TeleopDevice, TeleopState
from drivers.teleop.mapping import DeviceConfig


@dataclass
class Segment:
    steps: int = 1  # reads this segment lasts
    action: list[float] = field(default_factory=lambda: [0.0] * 6 + [-1.0])  # dx..drz, gripper
    intervening: bool = True
    events: list[str] = field(default_factory=list)  # reported at the segment's first read

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"a segment has steps={self.steps}; give at least 1")
        if len(self.action) != 7 or not all(-1.0 <= a <= 1.0 for a in self.action):
            raise ValueError(f"a segment's action {list(self.action)} is not 7 values in [-1, 1]")
        unknown = sorted(set(self.events) - set(EVENTS))
        if unknown:
            raise ValueError(f"a segment has unknown events {unknown}; valid: {list(EVENTS)}")


@dataclass
class ScriptedConfig(DeviceConfig):
    segments: list[Segment] = field(default_factory=list)
    loop: bool = False  # start over after the last segment instead of letting go
    restart: bool = False  # start over at each new episode (forget_events)


class Scripted(TeleopDevice):
    name = "scripted"
    Config = ScriptedConfig

    def __init__(self, cfg: ScriptedConfig) -> None:
        self.cfg = cfg
        self.steps = 0  # reads so far
        self._ends = list(itertools.accumulate(segment.steps for segment in cfg.segments))
        self._gripper = -1.0

    def forget_events(self) -> None:
        if self.cfg.restart:
            self.steps, self._gripper = 0, -1.0

    def read(self) -> TeleopState:
        step = self.steps
        self.steps += 1
        total = self._ends[-1] if self._ends else 0
        if self.cfg.loop and total:
            step %= total
        if step >= total:
            idle = np.zeros(7, dtype=np.float32)
            idle[6] = self._gripper
            return TeleopState(idle)
        index = bisect.bisect_right(self._ends, step)
        segment = self.cfg.segments[index]
        first = step == self._ends[index] - segment.steps
        self._gripper = segment.action[6]
        events = frozenset(segment.events) if first else frozenset()
        return TeleopState(np.asarray(segment.action, dtype=np.float32), segment.intervening, events)

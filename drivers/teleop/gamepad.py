"""Gamepad (Xbox-style and others) through the Linux input event layer (``input_events.py``).

Sticks, triggers and the d-pad are ``EV_ABS`` axes; each mapped axis needs its raw range in
``axis_ranges`` as ``[rest, full]``: the value at rest and at full deflection in the positive direction
(``(value - rest) / (full - rest)``, clipped to [-1, 1]). The defaults in configs/device/gamepad.yaml are
the Linux xpad driver's (sticks -32768..32767, triggers 0..1023, d-pad -1..1); ``python -m drivers.teleop
gamepad`` shows the raw values of another pad. Buttons are ``EV_KEY`` codes by name (``BTN_SOUTH`` = A).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.teleop.input_events import EV_ABS, EventDevice, EventDeviceConfig
from robot_rl.errors import ConfigError


@dataclass
class GamepadConfig(EventDeviceConfig):
    axis_ranges: dict[str, Any] = field(default_factory=dict)  # ABS axis -> [rest, full] raw values


class Gamepad(EventDevice):
    name = "gamepad"
    Config = GamepadConfig

    def validate(self) -> None:
        super().validate()
        ranges = self.cfg.axis_ranges
        if any(len(pair) != 2 or pair[0] == pair[1] for pair in ranges.values()):
            raise ConfigError(f"gamepad: each axis_ranges entry is [rest, full] with rest != full: {ranges}")
        self.ranges = {axis: (float(rest), float(full)) for axis, (rest, full) in ranges.items()}
        missing = sorted(self.mapping.raw_axes() - set(self.ranges))
        if missing:
            raise ConfigError(
                f"gamepad: axes {missing} are mapped but have no axis_ranges entry [rest, full]"
            )

    def normalise(self, ev_type: int, name: str, value: int, now: float) -> float | None:
        if ev_type != EV_ABS or name not in self.ranges:
            return None
        rest, full = self.ranges[name]
        return (value - rest) / (full - rest)

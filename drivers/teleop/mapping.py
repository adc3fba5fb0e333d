"""Raw device input -> ``TeleopState``: deadzone, per-axis scale, axis and button maps, toggle or hold.

Backends only report raw input (``RawState``): named axes in [-1, 1] (``ABS_Y`` of a gamepad,
``axis1`` of a ``sensor_msgs/Joy``, a held key ``w`` reads 1.0) and named buttons (``BTN_TR``,
``button5``, ``space``). ``Mapping`` turns that into the one action convention, from the device's
config (configs/device/*.yaml):

- ``axes``: action dimension (dx dy dz drx dry drz) <- raw axes; a leading ``-`` flips the sign and
  several sources add up (``dz: [ABS_RZ, -ABS_Z]``: right trigger up, left trigger down).
- ``deadzone``: per raw axis, ``|v| < deadzone`` reads 0 and the rest is rescaled to reach 1 again.
- ``scale``: per action dimension, applied after the sum; the result is clipped to [-1, 1].
- ``buttons``: role (intervene, gripper, success, failure, discard) <- raw buttons.
- ``intervene_mode`` / ``gripper_mode``: ``toggle`` (each press flips it) or ``hold`` (on while held).
  The gripper starts open (-1); closed is +1. Events are reported once per press.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drivers.teleop.device import EVENTS, TeleopState

ACTION_DIMS = ("dx", "dy", "dz", "drx", "dry", "drz")
ROLES = ("intervene", "gripper", *EVENTS)
MODES = ("toggle", "hold")


@dataclass
class DeviceConfig:
    type: str = ""  # the backend (drivers/teleop/__init__.py::DEVICE_TYPES)


@dataclass
class MappingConfig(DeviceConfig):
    deadzone: float = 0.1  # |raw axis| below this reads 0, per raw axis
    scale: list[float] = field(default_factory=lambda: [1.0] * 6)  # per action dim dx..drz, after the sum
    axes: dict[str, Any] = field(default_factory=dict)  # action dim -> raw axis or list; '-' flips sign
    buttons: dict[str, Any] = field(default_factory=dict)  # role -> raw button or list of them
    intervene_mode: str = "toggle"  # toggle | hold
    gripper_mode: str = "toggle"  # toggle | hold

    def __post_init__(self) -> None:
        if not 0.0 <= self.deadzone < 1.0:
            raise ValueError(f"deadzone={self.deadzone} must be in [0, 1)")
        if len(self.scale) != len(ACTION_DIMS):
            raise ValueError(f"scale has {len(self.scale)} values; give 6, one per {' '.join(ACTION_DIMS)}")
        _check_keys("axes", self.axes, ACTION_DIMS)
        _check_keys("buttons", self.buttons, ROLES)
        for key in ("intervene_mode", "gripper_mode"):
            if getattr(self, key) not in MODES:
                raise ValueError(f"{key}={getattr(self, key)!r} is not one of {list(MODES)}")


def _check_keys(what: str, given: dict[str, Any], valid: tuple[str, ...]) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(f"{what} has unknown keys {unknown}; valid: {list(valid)}")


def _names(value: str | Iterable[str] | None) -> list[str]:
    """A config entry (one name, a list, or null) as a list of raw names."""
    if value is None:
        return []
    return [str(value)] if isinstance(value, str | int) else [str(v) for v in value]


@dataclass(frozen=True)
class RawInput:
    axes: dict[str, float]  # raw axis -> value in [-1, 1]
    held: frozenset[str]  # buttons down now
    pressed: frozenset[str]  # buttons that went down since the previous read (even if released since)


class RawState:
    """What a backend has seen so far; thread-safe, so a ROS callback may fill it while ``read`` runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._axes: dict[str, float] = {}
        self._held: set[str] = set()
        self._pressed: set[str] = set()

    def set_axis(self, name: str, value: float) -> None:
        with self._lock:
            self._axes[name] = float(np.clip(value, -1.0, 1.0))

    def press(self, name: str) -> None:
        with self._lock:
            if name not in self._held:
                self._pressed.add(name)
            self._held.add(name)

    def release(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)

    def set_buttons(self, held: Iterable[str]) -> None:
        """For backends that see the whole button state at once (``sensor_msgs/Joy``)."""
        held = set(held)
        with self._lock:
            self._pressed |= held - self._held
            self._held = held

    def clear(self) -> None:
        """Zero every axis and release every button (the device went quiet)."""
        with self._lock:
            self._axes = dict.fromkeys(self._axes, 0.0)
            self._held.clear()

    def take(self) -> RawInput:
        """The current input; the presses are reported once."""
        with self._lock:
            raw = RawInput(dict(self._axes), frozenset(self._held), frozenset(self._pressed))
            self._pressed.clear()
        return raw


def apply_deadzone(value: float, deadzone: float) -> float:
    """0 inside the deadzone, then linear from 0 at its edge to +-1 at full deflection."""
    magnitude = abs(value)
    if magnitude < deadzone:
        return 0.0
    return float(np.sign(value)) * (magnitude - deadzone) / (1.0 - deadzone)


class Mapping:
    """``RawInput`` -> ``TeleopState`` for one device config; keeps the toggle states between reads."""

    def __init__(self, cfg: MappingConfig) -> None:
        self.cfg = cfg
        self.scale = np.asarray(cfg.scale, dtype=np.float64)
        self.axes: dict[int, list[tuple[float, str]]] = {
            ACTION_DIMS.index(dim): [
                (-1.0, name[1:]) if name.startswith("-") else (1.0, name) for name in _names(sources)
            ]
            for dim, sources in cfg.axes.items()
        }
        self.buttons = {role: frozenset(_names(cfg.buttons.get(role))) for role in ROLES}
        self.intervening = False
        self.gripper_closed = False
        self.last_raw = RawInput({}, frozenset(), frozenset())  # for `python -m drivers.teleop`

    def reset(self) -> None:
        """Toggles back to the start of an episode: the gripper open, the policy in control."""
        self.intervening = self.gripper_closed = False

    def raw_axes(self) -> set[str]:
        return {name for sources in self.axes.values() for _, name in sources}

    def raw_buttons(self) -> set[str]:
        return set().union(*self.buttons.values())

    def __call__(self, raw: RawInput) -> TeleopState:
        self.last_raw = raw
        action = np.zeros(7, dtype=np.float32)
        for dim, sources in self.axes.items():
            total = sum(
                sign * apply_deadzone(raw.axes.get(name, 0.0), self.cfg.deadzone) for sign, name in sources
            )
            action[dim] = np.clip(total * self.scale[dim], -1.0, 1.0)
        self.intervening = self._switch("intervene", self.cfg.intervene_mode, self.intervening, raw)
        self.gripper_closed = self._switch("gripper", self.cfg.gripper_mode, self.gripper_closed, raw)
        action[6] = 1.0 if self.gripper_closed else -1.0
        events = frozenset(event for event in EVENTS if self.buttons[event] & raw.pressed)
        return TeleopState(action, self.intervening, events)

    def _switch(self, role: str, mode: str, state: bool, raw: RawInput) -> bool:
        buttons = self.buttons[role]
        if mode == "hold":  # a tap shorter than a read period still counts for one read
            return bool(buttons & (raw.held | raw.pressed))
        return state != bool(buttons & raw.pressed)

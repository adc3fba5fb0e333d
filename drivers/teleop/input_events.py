"""The Linux input event layer, read directly: ``struct input_event`` from /dev/input/event*.

``linux/input.h``: ``struct input_event { struct timeval time; __u16 type; __u16 code; __s32 value; }``,
24 bytes on 64-bit. No compiled dependency: ``struct`` decodes it. ``EventDevice`` opens a device by
``path`` or by the first name (/sys/class/input/event*/device/name) containing one of ``match``, reads
whatever events are pending at each ``read()`` and turns them into raw input: ``EV_KEY`` buttons by
name (``BTN_SOUTH``), ``EV_ABS``/``EV_REL`` axes by name (``ABS_X``, ``REL_RZ``), each normalised to
[-1, 1] by the subclass (gamepad: configured ranges; SpaceMouse: a full scale).
Codes without a name here read as ``KEY_<code>``, ``ABS_<code>``, ``REL_<code>``.
"""

from __future__ import annotations

import errno
import os
import re
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drivers.teleop.device import DeviceNotFound, TeleopDevice, TeleopState
from drivers.teleop.mapping import Mapping, MappingConfig, RawState
from robot_rl.errors import ConfigError, DeviceError

EVENT = struct.Struct("llHHi")  # timeval (sec, usec), type, code, value: 24 bytes on 64-bit Linux
EV_SYN, EV_KEY, EV_REL, EV_ABS = 0, 1, 2, 3
_AXES6 = ("X", "Y", "Z", "RX", "RY", "RZ")
_BUTTONS = ("SOUTH", "EAST", "C", "NORTH", "WEST", "Z", "TL", "TR", "TL2", "TR2", "SELECT", "START", "MODE")
CODE_NAMES: dict[tuple[int, int], str] = {
    **{(EV_ABS, i): f"ABS_{axis}" for i, axis in enumerate(_AXES6)},
    (EV_ABS, 6): "ABS_THROTTLE",
    (EV_ABS, 9): "ABS_GAS",
    (EV_ABS, 10): "ABS_BRAKE",
    **{(EV_ABS, 16 + i): f"ABS_HAT0{axis}" for i, axis in enumerate("XY")},
    **{(EV_REL, i): f"REL_{axis}" for i, axis in enumerate(_AXES6)},
    **{(EV_KEY, 0x100 + i): f"BTN_{i}" for i in range(10)},  # SpaceMouse buttons: BTN_0, BTN_1, ...
    **{(EV_KEY, 0x130 + i): f"BTN_{name}" for i, name in enumerate(_BUTTONS)},
    (EV_KEY, 0x13D): "BTN_THUMBL",
    (EV_KEY, 0x13E): "BTN_THUMBR",
    **{(EV_KEY, 0x220 + i): f"BTN_DPAD_{d}" for i, d in enumerate(("UP", "DOWN", "LEFT", "RIGHT"))},
}
_PREFIX = {EV_KEY: "KEY", EV_REL: "REL", EV_ABS: "ABS"}
_NUMBERED = re.compile(r"^(KEY|ABS|REL)_\d+$")
SYSFS_INPUT = Path("/sys/class/input")
DEV_INPUT = Path("/dev/input")


def code_name(ev_type: int, code: int) -> str:
    return CODE_NAMES.get((ev_type, code), f"{_PREFIX.get(ev_type, 'EV')}_{code}")


def pack_event(ev_type: int, code: int, value: int, t_s: float = 0.0) -> bytes:
    """One ``input_event`` as the kernel writes it (for tests and recordings)."""
    return EVENT.pack(int(t_s), int(t_s % 1 * 1e6), ev_type, code, value)


def input_devices(sysfs: Path = SYSFS_INPUT, dev: Path = DEV_INPUT) -> list[tuple[str, str]]:
    """``[(/dev/input/eventN, its name), ...]`` for the event devices the kernel lists."""
    found = []
    for entry in sorted(sysfs.glob("event*"), key=lambda p: int(p.name[5:] or 0)):
        try:
            name = (entry / "device" / "name").read_text().strip()
        except OSError:
            continue
        found.append((str(dev / entry.name), name))
    return found


def describe(devices: list[tuple[str, str]]) -> str:
    return ", ".join(f"{path} ({name!r})" for path, name in devices) or "none"


def find_device(path: str | None, match: list[str], sysfs: Path = SYSFS_INPUT, dev: Path = DEV_INPUT) -> str:
    """``path`` if given and present, else the first device whose name contains one of ``match``."""
    devices = input_devices(sysfs, dev)
    if path:
        if not os.path.exists(path):
            raise DeviceNotFound(f"{path} does not exist; input devices here: {describe(devices)}")
        return path
    for device_path, name in devices:
        if any(pattern.lower() in name.lower() for pattern in match):
            return device_path
    raise DeviceNotFound(
        f"no input device whose name contains any of {match}; input devices here: {describe(devices)}. "
        "Plug the device in, or set path: /dev/input/eventN or match: [<part of its name>]"
    )


@dataclass
class EventDeviceConfig(MappingConfig):
    path: str | None = None  # /dev/input/eventN; null: the first device whose name matches `match`
    match: list[str] = field(default_factory=list)  # parts of the device name, case-insensitive


class EventDevice(TeleopDevice):
    """An input device read without blocking; subclasses say how a raw axis value becomes [-1, 1]."""

    Config = EventDeviceConfig

    def __init__(
        self,
        cfg: EventDeviceConfig,
        clock: Callable[[], float] = time.monotonic,
        sysfs: Path = SYSFS_INPUT,
        dev: Path = DEV_INPUT,
    ) -> None:
        self.cfg, self.clock = cfg, clock
        self.mapping = Mapping(cfg)
        self.validate()
        self.path = find_device(cfg.path, list(cfg.match), sysfs, dev)
        self._fd = self._open(self.path)
        self._pending = b""
        self._raw = RawState()

    def validate(self) -> None:
        """Fail at construction on a name no input device sends (subclasses add their own checks)."""
        known = set(CODE_NAMES.values())
        unknown = sorted(n for n in self.mapping.raw_axes() | self.mapping.raw_buttons() if n not in known)
        unknown = [name for name in unknown if not _NUMBERED.match(name)]
        if unknown:
            raise ConfigError(
                f"{self.name}: unknown input codes {unknown}; known names: {', '.join(sorted(known))}; "
                "or KEY_<n>/ABS_<n>/REL_<n> (`python -m drivers.teleop <device>` shows what it sends)"
            )

    @staticmethod
    def _open(path: str) -> int:
        try:
            return os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except PermissionError:
            raise DeviceError(
                f"no permission to read {path}; add yourself to its group (`ls -l {path}`, usually "
                "'input': sudo usermod -aG input $USER, then log in again) or add a udev rule"
            ) from None

    def read(self) -> TeleopState:
        now = self.clock()
        for ev_type, code, value in self._events():
            name = code_name(ev_type, code)
            if ev_type == EV_KEY and value == 1:
                self._raw.press(name)
            elif ev_type == EV_KEY and value == 0:
                self._raw.release(name)  # value 2 is the kernel's auto-repeat of a held key
            elif ev_type in (EV_ABS, EV_REL):
                normalised = self.normalise(ev_type, name, value, now)
                if normalised is not None:
                    self._raw.set_axis(name, normalised)
        self.settle(self._raw, now)
        return self.mapping(self._raw.take())

    def normalise(self, ev_type: int, name: str, value: int, now: float) -> float | None:
        """A raw axis value in [-1, 1], or None to ignore this axis."""
        raise NotImplementedError

    def settle(self, raw: RawState, now: float) -> None:
        """Called once per read after the pending events (SpaceMouse: zero axes that went quiet)."""

    def _events(self) -> Iterator[tuple[int, int, int]]:
        while True:
            try:
                chunk = os.read(self._fd, EVENT.size * 64)
            except BlockingIOError:
                break
            except OSError as err:
                if err.errno == errno.ENODEV:
                    raise DeviceError(
                        f"{self.name} at {self.path} was unplugged; plug it in and restart"
                    ) from None
                raise
            if not chunk:  # a FIFO with no writer; a device never ends
                break
            self._pending += chunk
        whole = len(self._pending) // EVENT.size * EVENT.size
        for _sec, _usec, ev_type, code, value in EVENT.iter_unpack(self._pending[:whole]):
            yield ev_type, code, value
        self._pending = self._pending[whole:]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

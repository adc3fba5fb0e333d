"""Keyboard teleop in a terminal (no X display): keys read from a tty in cbreak mode, without blocking.

Terminals send key presses, never releases, so a key counts as held for ``first_hold_s`` after it
is pressed, then for ``hold_s`` after each auto-repeat (a held key repeats after the terminal's repeat
delay, ~0.25-0.66 s, then every ~30-40 ms). A held key reads 1.0 as a raw axis and is down as a raw
button, so configs/device/keyboard.yaml maps keys with the same ``axes``/``buttons`` as any device.

Key names: the character itself (lower case: ``w``, ``1``, ``+``), ``space``, ``enter``, ``tab``,
``backspace``, ``esc``, ``up``, ``down``, ``left``, ``right``, ``pageup``, ``pagedown``, ``home``,
``end``, ``insert``, ``delete``. Only one key auto-repeats at a time, so a second key held together
with a first one keeps the first alive only for ``first_hold_s``. Ctrl-C still interrupts (cbreak).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from drivers.teleop.device import DeviceNotFound, TeleopDevice, TeleopState
from drivers.teleop.mapping import Mapping, MappingConfig, RawState
from robot_rl.errors import ConfigError, DeviceError

CONTROL_KEYS = {
    " ": "space",
    "\r": "enter",
    "\n": "enter",
    "\t": "tab",
    "\x7f": "backspace",
    "\x08": "backspace",
}
ESCAPE_SEQUENCES = {  # xterm / VT100 (normal and application cursor mode)
    "\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left",
    "\x1bOA": "up", "\x1bOB": "down", "\x1bOC": "right", "\x1bOD": "left",
    "\x1b[H": "home", "\x1b[F": "end", "\x1bOH": "home", "\x1bOF": "end",
    "\x1b[1~": "home", "\x1b[4~": "end", "\x1b[2~": "insert", "\x1b[3~": "delete",
    "\x1b[5~": "pageup", "\x1b[6~": "pagedown",
}  # fmt: skip


@dataclass
class KeyboardConfig(MappingConfig):
    tty: str | None = None  # terminal to read (/dev/pts/N, /dev/ttyN); null: this process's stdin
    hold_s: float = 0.15  # a key stays down this long after each auto-repeat
    first_hold_s: float = 0.5  # ... and this long after its first press (covers the repeat delay)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.hold_s <= self.first_hold_s:
            raise ValueError(f"need 0 < hold_s <= first_hold_s; got {self.hold_s} and {self.first_hold_s}")


def parse_keys(text: str) -> Iterator[str]:
    """Key names in the order typed (``"w\\x1b[A "`` -> w, up, space)."""
    i = 0
    while i < len(text):
        if text[i] == "\x1b":
            sequence = next((s for s in ESCAPE_SEQUENCES if text.startswith(s, i)), None)
            yield ESCAPE_SEQUENCES[sequence] if sequence else "esc"
            i += len(sequence) if sequence else 1
            continue
        yield CONTROL_KEYS.get(text[i], text[i].lower())
        i += 1


class Keyboard(TeleopDevice):
    """Keys of a terminal; the terminal's settings are restored by ``close``."""

    name = "keyboard"
    Config = KeyboardConfig

    def __init__(self, cfg: KeyboardConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg, self.clock = cfg, clock
        self.mapping = Mapping(cfg)
        named = {*CONTROL_KEYS.values(), *ESCAPE_SEQUENCES.values(), "esc"}
        unknown = sorted(
            key
            for key in self.mapping.raw_axes() | self.mapping.raw_buttons()
            if key not in named and (len(key) != 1 or key != key.lower())
        )
        if unknown:
            raise ConfigError(
                f"keyboard: unknown keys {unknown}; use one lower-case character or one of {sorted(named)}"
            )
        self._raw = RawState()
        self._deadlines: dict[str, float] = {}  # held key -> when it counts as released
        self._fd, self._own_fd = self._open(cfg.tty)
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)  # keys arrive one by one, unechoed; Ctrl-C still sends SIGINT

    @staticmethod
    def _open(path: str | None) -> tuple[int, bool]:
        if path is None:
            if not sys.stdin.isatty():
                raise DeviceNotFound(
                    "keyboard teleop needs a terminal, but stdin is not one (a launch file or a pipe); "
                    "run it in a terminal or set tty: /dev/pts/N (`tty` in that terminal prints N)"
                )
            return sys.stdin.fileno(), False
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        except FileNotFoundError:
            raise DeviceNotFound(
                f"terminal {path} does not exist; `tty` in the terminal to use prints its path"
            ) from None
        except OSError as err:
            raise DeviceError(f"cannot open terminal {path}: {err.strerror}") from None
        if not os.isatty(fd):
            os.close(fd)
            raise DeviceNotFound(f"{path} is not a terminal; set tty: to a /dev/pts/N or /dev/ttyN")
        return fd, True

    def read(self) -> TeleopState:
        now = self.clock()
        for key, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[key]
                self._raw.release(key)
                self._raw.set_axis(key, 0.0)
        for key in parse_keys(self._pending_text()):
            repeat = key in self._deadlines  # still down: the terminal's auto-repeat
            self._deadlines[key] = now + (self.cfg.hold_s if repeat else self.cfg.first_hold_s)
            self._raw.press(key)
            self._raw.set_axis(key, 1.0)
        return self.mapping(self._raw.take())

    def _pending_text(self) -> str:
        chunks = []
        while select.select([self._fd], [], [], 0.0)[0]:
            chunk = os.read(self._fd, 1024)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._fd < 0:
            return
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        if self._own_fd:
            os.close(self._fd)
        self._fd = -1

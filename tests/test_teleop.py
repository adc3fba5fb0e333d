"""Teleop devices with synthetic input: the mapping layer, and each backend through its real input path.

Keyboard through a pty, gamepad and SpaceMouse through ``struct input_event`` written into a FIFO, the
scripted operator; the ROS backends (Joy, teleop_node -> teleop_topic) are in test_teleop_ros.py.
"""

from __future__ import annotations

import io
import os
import select
import sys
import termios
from collections.abc import Callable

import numpy as np
import pytest

from drivers.teleop import (
    DEVICE_TYPES,
    DeviceNotFound,
    TeleopDevice,
    TeleopState,
    load_device,
    load_device_config,
    make_device,
)
from drivers.teleop.input_events import CODE_NAMES, pack_event
from drivers.teleop.keyboard import parse_keys
from drivers.teleop.mapping import Mapping, MappingConfig, RawState
from robot_rl.errors import ConfigError

CODES = {name: key for key, name in CODE_NAMES.items()}  # "ABS_Y" -> (EV_ABS, 1)


class Clock:
    """A hand-moved clock: hold and quiet times do not depend on the machine's speed."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def device(name: str, *overrides: str, **options: object) -> TeleopDevice:
    return load_device(name, list(overrides), **options)


def check(state: TeleopState, intervening: bool = False, events: tuple[str, ...] = (), **dims: float) -> None:
    """``dims``: expected action values by name (dx ... drz, gripper); the others must be 0 (gripper -1)."""
    names = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")
    expected = np.array([dims.get(name, -1.0 if name == "gripper" else 0.0) for name in names])
    np.testing.assert_allclose(state.action, expected, atol=1e-4)
    assert state.action.dtype == np.float32
    assert (state.intervening, state.events) == (intervening, frozenset(events))


# --------------------------------------------------------------------------------------- mapping layer
def test_mapping_applies_deadzone_sign_sum_scale_and_clip() -> None:
    cfg = MappingConfig(
        deadzone=0.1,
        scale=[0.5, 1, 1, 1, 1, 1],
        axes={"dx": "-stick", "dz": ["up", "-down"], "drz": "twist"},
    )
    raw = RawState()
    mapping = Mapping(cfg)
    raw.set_axis("stick", 0.55)  # (0.55 - 0.1) / 0.9 = 0.5, flipped, x 0.5
    raw.set_axis("up", 1.0)
    raw.set_axis("down", -1.0)  # 1 - (-1) = 2, clipped to 1
    raw.set_axis("twist", 0.09)  # inside the deadzone
    raw.set_axis("unmapped", 1.0)
    check(mapping(raw.take()), dx=-0.25, dz=1.0)
    raw.set_axis("stick", -3.0)  # raw values are clipped to [-1, 1] first
    raw.set_axis("down", 0.55)
    check(mapping(raw.take()), dx=0.5, dz=0.5)


def test_toggle_flips_per_press_hold_follows_the_button_events_come_once() -> None:
    cfg = MappingConfig(
        buttons={"intervene": "a", "gripper": ["g", "g2"], "success": "ok", "discard": "drop"},
        intervene_mode="hold",
        gripper_mode="toggle",
    )
    raw, mapping = RawState(), Mapping(cfg)
    raw.press("g")
    raw.release("g")  # a tap between two reads still toggles
    check(mapping(raw.take()), gripper=1.0)
    check(mapping(raw.take()), gripper=1.0)  # toggled state stays
    raw.press("g2")
    check(mapping(raw.take()), gripper=-1.0)
    raw.press("a")
    raw.press("ok")
    check(mapping(raw.take()), intervening=True, events=("success",))
    check(mapping(raw.take()), intervening=True)  # still held: intervening, the event is not repeated
    raw.release("a")
    raw.press("drop")
    check(mapping(raw.take()), events=("discard",))
    raw.press("a")
    raw.release("a")  # a tap shorter than a read period counts for one read in hold mode
    check(mapping(raw.take()), intervening=True)
    check(mapping(raw.take()))
    raw.set_buttons({"ok"})  # whole-state backends (Joy): a press is a button that was up before
    raw.set_buttons({"ok"})
    check(mapping(raw.take()))
    raw.set_buttons(set())
    raw.set_buttons({"ok"})
    check(mapping(raw.take()), events=("success",))


def test_bad_configs_name_the_cause() -> None:
    with pytest.raises(
        ConfigError, match=r"'gamepad'.*'joy'.*'keyboard'.*'scripted'.*'spacemouse'.*'teleop_topic'"
    ):
        make_device({"type": "wheel"})
    assert sorted(DEVICE_TYPES) == ["gamepad", "joy", "keyboard", "scripted", "spacemouse", "teleop_topic"]
    with pytest.raises(ConfigError, match=r"'wheel' is not in configs/device; available: \['gamepad'"):
        load_device_config("wheel")
    with pytest.raises(ConfigError, match=r"axes has unknown keys \['dw'\]; valid: \['dx'"):
        make_device({"type": "keyboard", "axes": {"dw": "w"}})
    with pytest.raises(ConfigError, match=r"keyboard: unknown keys \['W', 'spacebar'\]; use one lower-case"):
        device("keyboard", "axes.dx=[W,-s]", "buttons.gripper=spacebar")
    with pytest.raises(ConfigError, match=r"intervene_mode='press' is not one of \['toggle', 'hold'\]"):
        device("gamepad", "intervene_mode=press")
    with pytest.raises(ConfigError, match=r"unknown input codes \['ABS_FOO'\]"):
        device("gamepad", "axes.dx=ABS_FOO")
    with pytest.raises(ConfigError, match=r"\['ABS_RX'\] are mapped but have no axis_ranges"):
        device("gamepad", "~axis_ranges.ABS_RX")
    with pytest.raises(ConfigError, match=r"action \[1.0\] is not 7 values"):
        make_device({"type": "scripted", "segments": [{"action": [1.0]}]})


# --------------------------------------------------------------------------------------------- keyboard
def test_parse_keys_names_characters_controls_and_escape_sequences() -> None:
    assert list(parse_keys("wW \r\t\x7f\x1b[A\x1bOD\x1b[3~\x1b")) == [
        "w", "w", "space", "enter", "tab", "backspace", "up", "left", "delete", "esc",
    ]  # fmt: skip


def test_keyboard_through_a_pty_holds_keys_toggles_and_restores_the_terminal() -> None:
    master, slave = os.openpty()
    saved = termios.tcgetattr(slave)
    clock = Clock()
    keyboard = device("keyboard", f"tty={os.ttyname(slave)}", clock=clock)

    def keys(data: bytes) -> TeleopState:
        os.write(master, data)
        assert select.select([slave], [], [], 2.0)[0], "the pty did not deliver the keys"
        return keyboard.read()

    try:
        assert not termios.tcgetattr(slave)[3] & (termios.ICANON | termios.ECHO)  # cbreak, no echo
        check(keys(b"w"), dx=1.0)
        clock.t += 0.4  # before first_hold_s: the terminal's repeat delay
        check(keys(b"w"), dx=1.0)  # an auto-repeat keeps it down for hold_s more
        clock.t += 0.1
        check(keyboard.read(), dx=1.0)
        clock.t += 0.1  # 0.15 s since the last repeat: released
        check(keyboard.read())
        check(keys(b"df"), dy=-1.0, dz=-1.0)
        clock.t += 1.0
        check(keys(b"t"), intervening=True)
        clock.t += 0.1
        check(keys(b"t"), intervening=True)  # the repeat of a held key is not a second press
        clock.t += 1.0
        check(keys(b"t"))  # a new press hands back
        check(keys(b" "), gripper=1.0)
        check(keys(b"\r"), gripper=1.0, events=("success",))
        check(keyboard.read(), gripper=1.0)  # reported once
        check(keys(b"\x7fx"), gripper=1.0, events=("failure", "discard"))
        # A new episode: a mark made during the reset is dropped, the toggles start over.
        clock.t += 1.0
        os.write(master, b"t\r")  # take over and mark success while the arm resets
        assert select.select([slave], [], [], 2.0)[0]
        keyboard.forget_events()
        check(keyboard.read())  # no success mark, gripper open, the policy in control
    finally:
        keyboard.close()
    assert termios.tcgetattr(slave) == saved
    os.close(master)
    os.close(slave)


def test_keyboard_without_a_terminal_says_how_to_fix_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    with pytest.raises(DeviceNotFound, match=r"stdin is not one.*set tty: /dev/pts/N"):
        device("keyboard")
    with pytest.raises(DeviceNotFound, match=r"terminal /nonexistent/pts/9 does not exist"):
        device("keyboard", "tty=/nonexistent/pts/9")
    (tmp_path / "file").write_text("")
    with pytest.raises(DeviceNotFound, match="is not a terminal"):
        device("keyboard", f"tty={tmp_path / 'file'}")


# ------------------------------------------------------------------------------ input event devices
def event_writer(fifo_dir: os.PathLike, name: str) -> tuple[str, Callable[..., None]]:
    """A FIFO standing in for /dev/input/eventN, and ``send(("ABS_Y", -32767), ...)`` writing into it."""
    path = os.path.join(fifo_dir, name)
    os.mkfifo(path)
    writers: list[int] = []

    def send(*events: tuple[str, int], raw: bytes = b"") -> None:
        if not writers:  # opened after the device, which opens its end without blocking
            writers.append(os.open(path, os.O_WRONLY))
        data = b"".join(pack_event(*CODES[name], value) for name, value in events) + raw
        os.write(writers[0], data)

    return path, send


def test_gamepad_normalises_axes_by_range_and_maps_buttons(tmp_path) -> None:
    path, send = event_writer(tmp_path, "event7")
    pad = device("gamepad", f"path={path}", clock=Clock())
    try:
        check(pad.read())
        send(("ABS_Y", -32767), ("ABS_X", round(-0.55 * 32767)), ("ABS_RZ", 1023), ("ABS_Z", 512))
        send(("ABS_RX", 3000), ("ABS_HAT0X", 1), ("ABS_RY", 40000))  # in the deadzone; d-pad; past full
        check(pad.read(), dx=1.0, dy=0.5, dz=(1 - (512 / 1023 - 0.1) / 0.9), drx=1.0, dry=-1.0)
        event = pack_event(*CODES["ABS_Y"], 0)
        send(raw=event[:10])  # half an event: kept until the rest arrives
        check(pad.read(), dx=1.0, dy=0.5, dz=(1 - (512 / 1023 - 0.1) / 0.9), drx=1.0, dry=-1.0)
        send(raw=event[10:])
        send(("ABS_X", 0), ("ABS_RZ", 0), ("ABS_Z", 0), ("ABS_HAT0X", 0), ("ABS_RY", 0))
        check(pad.read())
        send(("BTN_TR", 1), ("BTN_SOUTH", 1))  # RB held: intervene (hold); A: success
        check(pad.read(), intervening=True, events=("success",))
        send(("BTN_SOUTH", 2))  # the kernel's auto-repeat of a held button: no new event
        check(pad.read(), intervening=True)
        send(("BTN_TR", 0), ("BTN_TL", 1), ("BTN_TL", 0), ("BTN_SOUTH", 0))  # LB tapped: gripper toggles
        check(pad.read(), gripper=1.0)
        send(("BTN_EAST", 1), ("BTN_SELECT", 1))
        check(pad.read(), gripper=1.0, events=("failure", "discard"))
    finally:
        pad.close()


def test_spacemouse_axes_go_quiet_to_zero_buttons_toggle(tmp_path) -> None:
    path, send = event_writer(tmp_path, "event3")
    clock = Clock()
    mouse = device("spacemouse", f"path={path}", clock=clock)
    try:
        send(("REL_Y", -350), ("REL_RZ", 175), ("REL_X", 20))  # 20/350 is inside the deadzone
        check(mouse.read(), dx=1.0, drz=-(0.5 - 0.1) / 0.9)
        clock.t += 0.05
        check(mouse.read(), dx=1.0, drz=-(0.5 - 0.1) / 0.9)  # not yet quiet_s: still deflected
        clock.t += 0.06
        send(("REL_Y", -175))
        check(mouse.read(), dx=(0.5 - 0.1) / 0.9)  # REL_RZ went quiet: the kernel never sends REL 0
        send(("ABS_Z", 350), ("BTN_0", 1), ("BTN_0", 0), ("BTN_1", 1))  # ABS on some kernels
        clock.t += 1.0
        check(mouse.read(), dz=-1.0, gripper=1.0, intervening=True)  # ABS axes hold their value
    finally:
        mouse.close()


def test_event_devices_found_by_name_or_listed_when_missing(tmp_path) -> None:
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    for number, name in ((0, "AT Translated Set 2 keyboard"), (12, "3Dconnexion SpaceMouse Compact")):
        (sysfs / f"event{number}" / "device").mkdir(parents=True)
        (sysfs / f"event{number}" / "device" / "name").write_text(name + "\n")
        os.mkfifo(dev / f"event{number}")
    with device("spacemouse", sysfs=sysfs, dev=dev) as mouse:
        assert mouse.path == str(dev / "event12")
    listed = rf"{dev}/event0 \('AT Translated Set 2 keyboard'\), {dev}/event12 \('3Dconnexion SpaceMouse"
    with pytest.raises(
        DeviceNotFound, match=rf"contains any of \['x-box', .*input devices here: {listed} Compact'\)\."
    ):
        device("gamepad", sysfs=sysfs, dev=dev)
    with pytest.raises(DeviceNotFound, match=r"^/dev/input/event9 does not exist; input devices here: none$"):
        device("gamepad", "path=/dev/input/event9", sysfs=tmp_path / "no_input")


# --------------------------------------------------------------------------------------------- scripted
SCRIPT = {
    "type": "scripted",
    "segments": [
        {"steps": 2, "action": [0.5, 0, 0, 0, 0, -0.5, 1.0], "events": ["success"]},
        {
            "steps": 1,
            "action": [0, 0, 0, 0, 0, 0, 1.0],
            "intervening": False,
            "events": ["failure", "discard"],
        },
    ],
}


def test_scripted_operator_plays_segments_then_lets_go() -> None:
    operator = make_device(SCRIPT)
    check(operator.read(), dx=0.5, drz=-0.5, gripper=1.0, intervening=True, events=("success",))
    check(operator.read(), dx=0.5, drz=-0.5, gripper=1.0, intervening=True)
    check(operator.read(), gripper=1.0, events=("failure", "discard"))
    check(operator.read(), gripper=1.0)  # let go: no motion, the gripper as last commanded
    looping = make_device(SCRIPT | {"loop": True})
    states = [looping.read() for _ in range(4)]
    check(states[3], dx=0.5, drz=-0.5, gripper=1.0, intervening=True, events=("success",))
    spanning, restarting = make_device(SCRIPT), make_device(SCRIPT | {"restart": True})
    for device in (spanning, restarting):
        device.read()
        device.forget_events()  # a new episode
    check(spanning.read(), dx=0.5, drz=-0.5, gripper=1.0, intervening=True)  # the script goes on
    check(restarting.read(), dx=0.5, drz=-0.5, gripper=1.0, intervening=True, events=("success",))

"""Check a teleop device: ``python -m drivers.teleop <device> [key=value ...]`` shows what it reads.

One line, refreshed at 10 Hz until Ctrl-C: the mapped action, intervening, events, and the raw axes and
buttons the backend sees (the names to use in configs/device/<device>.yaml). ``--list`` lists the
input devices of /dev/input with their names (for ``path:`` and ``match:``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from drivers.teleop import TeleopDevice, TeleopState, load_device_config, make_device
from drivers.teleop.input_events import describe, input_devices
from robot_rl.errors import ConfigError, DeviceError


def status_line(device: TeleopDevice, state: TeleopState, last_events: str) -> str:
    action = np.array2string(state.action, precision=2, suppress_small=True, floatmode="fixed")
    line = f"action {action}  intervening {int(state.intervening)}  last events {last_events}"
    mapping = getattr(device, "mapping", None)
    if mapping is not None:
        raw = mapping.last_raw
        axes = " ".join(f"{name}={value:+.2f}" for name, value in sorted(raw.axes.items()) if value)
        line += f"  | raw axes {axes or '-'}  buttons {' '.join(sorted(raw.held)) or '-'}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers.teleop", description=__doc__.splitlines()[0])
    parser.add_argument("device", nargs="?", default="keyboard", help="a name of configs/device/*.yaml")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of that file, e.g. deadzone=0.2")
    parser.add_argument("--list", action="store_true", help="list the input event devices and exit")
    args = parser.parse_args(argv)
    if args.list:
        print(describe(input_devices()).replace(", /dev", "\n/dev"))
        return 0
    try:
        device = make_device(load_device_config(args.device, args.overrides))
    except (ConfigError, DeviceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        with device:
            last_events, start = "-", time.monotonic()
            while True:
                state = device.read()
                if state.events:  # reported once: keep them on screen
                    last_events = f"{' '.join(sorted(state.events))} at {time.monotonic() - start:.1f} s"
                sys.stdout.write("\r\x1b[K" + status_line(device, state, last_events))
                sys.stdout.flush()
                time.sleep(0.1)
    except KeyboardInterrupt:
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""3Dconnexion SpaceMouse through the Linux input event layer (``input_events.py``).

The kernel's HID driver reports the puck's 6 axes as ``EV_REL`` (``REL_X`` .. ``REL_RZ``; ``EV_ABS`` on
some kernels), each a displacement of up to about +-350 (``full_scale``), and its two buttons as
``BTN_0`` (left) and ``BTN_1`` (right). The kernel drops ``EV_REL`` events whose value is 0, so a
puck let go simply goes quiet: an axis not reported for ``quiet_s`` reads 0 again.

Axes of the device: X right, Y towards the user, Z down (pushing the puck). configs/device/spacemouse.yaml
maps them to the base frame (x forward, y left, z up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.teleop.input_events import EV_REL, EventDevice, EventDeviceConfig
from drivers.teleop.mapping import RawState
from robot_rl.errors import ConfigError


@dataclass
class SpaceMouseConfig(EventDeviceConfig):
    full_scale: float = 350.0  # raw value of a full deflection
    quiet_s: float = 0.1  # an EV_REL axis silent this long reads 0 (the device reports at ~60-125 Hz)


class SpaceMouse(EventDevice):
    name = "spacemouse"
    Config = SpaceMouseConfig

    def __init__(self, cfg: SpaceMouseConfig, **options: Any) -> None:
        self._reported: dict[str, float] = {}  # REL axis -> when it was last reported
        super().__init__(cfg, **options)

    def validate(self) -> None:
        super().validate()
        if self.cfg.full_scale <= 0 or self.cfg.quiet_s <= 0:
            raise ConfigError(
                f"spacemouse: full_scale={self.cfg.full_scale} and quiet_s={self.cfg.quiet_s} must be > 0"
            )

    def normalise(self, ev_type: int, name: str, value: int, now: float) -> float | None:
        if ev_type == EV_REL:
            self._reported[name] = now
        return value / self.cfg.full_scale

    def settle(self, raw: RawState, now: float) -> None:
        for name, last in list(self._reported.items()):
            if now - last >= self.cfg.quiet_s:
                raw.set_axis(name, 0.0)
                del self._reported[name]

"""The one teleoperation interface: every device gives a 7-D action in the env's convention plus buttons.

``TeleopDevice.read()`` is non-blocking and returns the operator's latest ``TeleopState``:

- ``action``: ``[dx, dy, dz, drx, dry, drz, gripper]`` in [-1, 1], the env's action convention
  (robot_rl/envs/interface.py): translation/rotation deltas as fractions of the task's ``action_scale``,
  gripper -1 open ... +1 close. Deadzone, scaling and axis mapping come from the device's config.
- ``intervening``: the operator holds control (take over / hand back; toggle or hold, per config).
- ``events``: what the operator marked since the previous ``read()``, each reported once:
  ``"success"``, ``"failure"``, ``"discard"`` (drop the episode in progress).

Backends (``make_device(cfg)``, ``cfg.type``) live beside this file; a device that is not there raises
``DeviceNotFound`` naming the devices that were found.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from robot_rl.errors import DeviceError

if TYPE_CHECKING:
    from drivers.teleop.mapping import Mapping

EVENTS = ("success", "failure", "discard")


class DeviceNotFound(DeviceError):
    """The configured teleop device is absent; the message lists the devices that were found."""


@dataclass(frozen=True)
class TeleopState:
    action: np.ndarray  # (7,) float32 in [-1, 1]
    intervening: bool = False
    events: frozenset[str] = field(default_factory=frozenset)


class TeleopDevice(ABC):
    """A source of operator commands. Subclasses implement ``read``; ``close`` releases the device."""

    name: str = "device"
    mapping: Mapping | None = None  # raw input -> state, for devices read as raw axes and buttons

    @abstractmethod
    def read(self) -> TeleopState: ...

    def forget_events(self) -> None:
        """A new episode starts (recorders, and ``Intervention`` through its operator, call it): input
        queued while the arm reset belongs to no episode, and the toggles start as the env does, with
        the gripper open and the policy in control."""
        if self.mapping is not None:
            self.read()  # drains what the device queued meanwhile (key presses, input events, Joy)
            self.mapping.reset()

    def close(self) -> None:  # noqa: B027  (optional for devices without resources)
        pass

    def __enter__(self) -> TeleopDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""A teleop device as the ``Operator`` of ``robot_rl.envs.intervention.Intervention``."""

from __future__ import annotations

from typing import Any

import numpy as np

from drivers.teleop.device import TeleopDevice


class DeviceOperator:
    """The human's action while they hold control (take over / hand back on the device), else None.

    The operator's marks (success, failure, discard) are collected in ``events`` for whoever ends the
    episode (the demo recorder); ``reset()`` clears them.
    """

    def __init__(self, device: TeleopDevice) -> None:
        self.device = device
        self.events: set[str] = set()

    def reset(self) -> None:
        self.events.clear()
        self.device.forget_events()  # input from before the episode, and last episode's toggles

    def command(self, obs: Any, proposed_action: np.ndarray) -> np.ndarray | None:
        state = self.device.read()
        self.events |= state.events
        return state.action if state.intervening else None

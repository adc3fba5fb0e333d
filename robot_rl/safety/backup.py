"""Backup policies: what the arm does while a safety trigger holds control.

Each backup returns a normalised 7-D action from the measured ``Pose`` (the shield's layers still
apply to it). ``hold``: stay put. ``retreat``: back off along the recent approach (or straight up).
``home``: move to the episode's start pose. ``base_policy``: hand over to a given policy (a scripted
controller or the imitation policy residual RL starts from). ``estop``: stop and stay stopped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.geometry import quat_error
from robot_rl.safety.layers import Pose


class Backup:
    name = "backup"

    def reset(self, pose: Pose) -> None:
        """A new episode starts at ``pose``."""

    def record(self, executed: np.ndarray) -> None:
        """Remember an executed action (the shield calls this every step)."""

    def act(self, obs: dict[str, Any], pose: Pose, gripper: float) -> np.ndarray:
        raise NotImplementedError


class Hold(Backup):
    name = "hold"

    def act(self, obs: dict[str, Any], pose: Pose, gripper: float) -> np.ndarray:
        action = np.zeros(7)
        action[6] = gripper
        return action


class EStop(Hold):
    """Like hold, but the shield latches it until ``SafetyShield.release_estop()``."""

    name = "estop"


class Retreat(Backup):
    """Back along the approach: the reverse of the last ``memory`` executed translations, at most
    ``distance_m`` per step; straight up when the arm has not moved."""

    name = "retreat"

    def __init__(self, distance_m: float, memory: int = 5) -> None:
        self.distance_m = distance_m
        self.recent: deque[np.ndarray] = deque(maxlen=memory)

    def reset(self, pose: Pose) -> None:
        self.recent.clear()

    def record(self, executed: np.ndarray) -> None:
        self.recent.append(np.asarray(executed[:3], dtype=np.float64).copy())

    def act(self, obs: dict[str, Any], pose: Pose, gripper: float) -> np.ndarray:
        approach = np.sum(self.recent, axis=0) if self.recent else np.zeros(3)
        norm = float(np.linalg.norm(approach))
        direction = -approach / norm if norm > 1e-6 else np.array([0.0, 0.0, 1.0])
        action = np.zeros(7)
        action[:3] = np.clip(direction * self.distance_m / pose.action_scale[0], -1.0, 1.0)
        action[6] = gripper
        return action


class GoHome(Backup):
    """Move to the episode's start pose, at most ``step_m`` per step."""

    name = "home"

    def __init__(self, step_m: float) -> None:
        self.step_m = step_m
        self.home: Pose | None = None

    def reset(self, pose: Pose) -> None:
        self.home = Pose(pose.pos.copy(), pose.quat.copy(), pose.action_scale, pose.period_s)

    def act(self, obs: dict[str, Any], pose: Pose, gripper: float) -> np.ndarray:
        assert self.home is not None, "GoHome.act before reset"
        move = self.home.pos - pose.pos
        norm = float(np.linalg.norm(move))
        if norm > self.step_m:
            move *= self.step_m / norm
        action = np.zeros(7)
        action[:3] = np.clip(move / pose.action_scale[0], -1.0, 1.0)
        action[3:6] = np.clip(quat_error(self.home.quat, pose.quat) / pose.action_scale[1], -1.0, 1.0)
        action[6] = gripper
        return action


class BasePolicy(Backup):
    """Hand control to ``policy(obs) -> 7-D action`` (e.g. ``sim.experts`` or a BC policy)."""

    name = "base_policy"

    def __init__(self, policy: Callable[[dict[str, Any]], np.ndarray]) -> None:
        self.policy = policy

    def act(self, obs: dict[str, Any], pose: Pose, gripper: float) -> np.ndarray:
        return np.asarray(self.policy(obs), dtype=np.float64)


def make_backup(
    name: str, *, retreat_m: float, home_step_m: float, base_policy: Callable | None = None
) -> Backup:
    if name == "hold":
        return Hold()
    if name == "estop":
        return EStop()
    if name == "retreat":
        return Retreat(retreat_m)
    if name == "home":
        return GoHome(home_step_m)
    if name == "base_policy":
        if base_policy is None:
            raise ValueError("backup 'base_policy' needs a base policy; pass one or choose another backup")
        return BasePolicy(base_policy)
    raise ValueError(f"unknown backup {name!r}; valid: hold, retreat, home, base_policy, estop")

"""Scripted experts: closed-loop controllers that read only the one interface's observation.

They make demonstrations and prove each task solvable. Both read the privileged object poses, so
they run in simulation only. An expert is stateless: its action depends on the current observation
alone, so it can take over from a policy (or a human) at any step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_rl.geometry import quat_error

#: Fingers pointing straight down, hand aligned with the base axes (the home orientation).
DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])


class ScriptedExpert:
    """Base: turns a TCP position target into a normalised 7-D delta action.

    :param action_scale: the env's ``(translation m, rotation rad)`` per unit action.
    :param gain: proportional gain on the position error (1 = reach the target in one step).
    :param action_dims: the DoF the env exposes (``RestrictDoF``); None for the full 7-D action.
    """

    def __init__(
        self,
        action_scale: tuple[float, float] | np.ndarray,
        gain: float = 1.0,
        action_dims: list[int] | None = None,
    ) -> None:
        self.action_scale = np.asarray(action_scale, dtype=np.float64)
        self.gain = gain
        self.action_dims = action_dims

    def __call__(self, obs: dict[str, Any]) -> np.ndarray:
        """The action in the env's action space: the 7-D action, or its ``action_dims`` part."""
        action = self.act(obs)
        return action if self.action_dims is None else action[list(self.action_dims)]

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def _action(self, delta_pos_m: np.ndarray, tcp_quat: np.ndarray, gripper: float) -> np.ndarray:
        action = np.zeros(7, dtype=np.float32)
        action[:3] = np.clip(self.gain * delta_pos_m / self.action_scale[0], -1.0, 1.0)
        action[3:6] = np.clip(quat_error(DOWN_QUAT, tcp_quat) / self.action_scale[1], -1.0, 1.0)
        action[6] = gripper
        return action


class PickCubeExpert(ScriptedExpert):
    """Hover over the cube, descend with the gripper open, close, lift."""

    hover_m = 0.08  # above the cube centre before descending
    lift_target_m = 0.17  # TCP height to carry the cube to (cube rests at 0.02)
    cube_half_m = 0.02

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        pose = obs["state"]["tcp_pose"]
        tcp, quat = pose[:3].astype(np.float64), pose[3:].astype(np.float64)
        opening = float(obs["state"]["gripper_pos"][0])  # 0 closed ... 1 open (8 cm)
        cube = obs["privileged"]["cube_pos"].astype(np.float64)
        xy_err = float(np.linalg.norm(cube[:2] - tcp[:2]))
        holding = xy_err < 0.015 and abs(cube[2] - tcp[2]) < 0.02 and 0.3 < opening < 0.6
        if holding:
            target = np.array([tcp[0], tcp[1], self.lift_target_m])
            return self._action(target - tcp, quat, +1.0)
        if opening < 0.3:  # closed on nothing: open and back off upwards
            return self._action(np.array([0.0, 0.0, 0.03]), quat, -1.0)
        if xy_err < 0.008:
            if tcp[2] > cube[2] + 0.004:
                return self._action(cube - tcp, quat, -1.0)
            return self._action(cube - tcp, quat, +1.0)
        hover_z = cube[2] + self.hover_m
        if tcp[2] < cube[2] + 0.04:  # too low to travel sideways: rise first
            return self._action(np.array([0.0, 0.0, hover_z - tcp[2]]), quat, -1.0)
        target = np.array([cube[0], cube[1], hover_z if xy_err > 0.03 else cube[2]])
        return self._action(target - tcp, quat, -1.0)


class PegInsertExpert(ScriptedExpert):
    """Line the peg tip up over the hole, then push it down, correcting sideways as it goes."""

    align_tol_m = 0.0015

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        quat = obs["state"]["tcp_pose"][3:].astype(np.float64)
        tip = obs["privileged"]["peg_tip_pos"].astype(np.float64)
        hole = obs["privileged"]["hole_pos"].astype(np.float64)
        xy_err = hole[:2] - tip[:2]
        if np.linalg.norm(xy_err) > self.align_tol_m:
            above_m = 0.01 if tip[2] > hole[2] + 0.005 else 0.02
            target_z = hole[2] + above_m if tip[2] > hole[2] - 0.002 else tip[2] + 0.01
            delta = np.array([xy_err[0], xy_err[1], target_z - tip[2]])
            if tip[2] < hole[2] + 0.005 and np.linalg.norm(xy_err) > 0.004:
                delta[:2] = 0.0  # touching the block: lift clear before sliding sideways
            return self._action(delta, quat, 1.0)
        # Fast down to just above the entrance, then slow enough that contact forces stay gentle.
        descend_m = 0.03 if tip[2] > hole[2] + 0.02 else 0.008
        return self._action(np.array([xy_err[0], xy_err[1], -descend_m]), quat, 1.0)


def shift_objects(obs: dict[str, Any], offset_xy: np.ndarray) -> dict[str, Any]:
    """``obs`` with every privileged object position (``*_pos``) moved by ``offset_xy`` in x and y: what an
    expert sees when it misjudges where things are (the simulated intervener, the recorder's misses)."""
    seen = dict(obs)
    seen["privileged"] = {
        key: np.concatenate([value[:2] + offset_xy, value[2:]]) if key.endswith("_pos") else value
        for key, value in obs["privileged"].items()
    }
    return seen


#: Name used by task configs (``task.expert``) -> expert class.
EXPERTS: dict[str, type[ScriptedExpert]] = {"pick_cube": PickCubeExpert, "peg_insert": PegInsertExpert}


def make_expert(
    name: str, action_scale: tuple[float, float] | np.ndarray, action_dims: list[int] | None = None
) -> ScriptedExpert:
    if name not in EXPERTS:
        raise ValueError(f"unknown expert {name!r}; valid experts: {sorted(EXPERTS)}")
    return EXPERTS[name](action_scale, action_dims=action_dims)

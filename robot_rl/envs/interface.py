"""The one env interface shared by simulation and hardware (docs/env_interface.md).

Every robot environment of robot_rl is a ``gymnasium.Env`` built from these spaces:

- action: ``Box(-1, 1, (7,), float32)`` = ``[dx, dy, dz, drx, dry, drz, gripper]``. Deltas are scaled by
  the task's ``action_scale`` (metres, radians per step); gripper -1 open ... +1 close.
- observation: ``Dict(state=Dict(...), images=Dict(...)?, privileged=Dict(...)?)``.
- info: ``success``, ``is_intervention``, ``intervene_action``, ``safety`` always present.

This module imports neither a simulator nor ROS: drivers and simulators build their spaces here so
that they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

ACTION_DIM = 7
ACTION_NAMES = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")

#: State parts and their sizes; ``None`` means "number of arm joints".
STATE_PARTS: dict[str, int | None] = {
    "tcp_pose": 7,  # position xyz [m] + orientation quaternion wxyz, base frame
    "tcp_vel": 6,  # linear [m/s] + angular [rad/s] velocity, base frame
    "gripper_pos": 1,  # finger opening, 0 closed ... 1 fully open
    "joint_pos": None,  # [rad]
    "joint_vel": None,  # [rad/s]
}
#: Optional state part, present where a force/torque sensor exists.
WRENCH_PART = "tcp_wrench"  # force [N] + torque [Nm] at the flange, base frame

#: Keys every ``info`` dict carries on every step (and on reset).
INFO_KEYS = ("success", "is_intervention", "intervene_action", "safety")


def make_action_space() -> gym.spaces.Box:
    """The normalised 7-D delta action space shared by every env."""
    return gym.spaces.Box(-1.0, 1.0, shape=(ACTION_DIM,), dtype=np.float32)


def make_state_space(n_joints: int, *, wrench: bool) -> gym.spaces.Dict:
    """The ``state`` sub-space: named float32 parts (see ``STATE_PARTS``)."""
    parts: dict[str, gym.spaces.Space] = {}
    for name, size in STATE_PARTS.items():
        n = n_joints if size is None else size
        parts[name] = gym.spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float32)
    if wrench:
        parts[WRENCH_PART] = gym.spaces.Box(-np.inf, np.inf, shape=(6,), dtype=np.float32)
    return gym.spaces.Dict(parts)


def make_image_space(cameras: tuple[str, ...] | list[str], height: int, width: int) -> gym.spaces.Dict:
    """The ``images`` sub-space: one uint8 HxWx3 Box per camera."""
    return gym.spaces.Dict(
        {name: gym.spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8) for name in cameras}
    )


def make_observation_space(
    n_joints: int,
    *,
    wrench: bool,
    cameras: tuple[str, ...] | list[str] = (),
    image_hw: tuple[int, int] = (128, 128),
    privileged: dict[str, int] | None = None,
) -> gym.spaces.Dict:
    """The full observation space; ``images`` only when cameras are enabled, ``privileged`` only in sim."""
    spaces: dict[str, gym.spaces.Space] = {"state": make_state_space(n_joints, wrench=wrench)}
    if cameras:
        spaces["images"] = make_image_space(cameras, *image_hw)
    if privileged:
        spaces["privileged"] = gym.spaces.Dict(
            {
                name: gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
                for name, size in privileged.items()
            }
        )
    return gym.spaces.Dict(spaces)


def check_action(action: Any) -> np.ndarray:
    """Validate a policy action and clip it into [-1, 1].

    :raises ValueError: wrong shape, or NaN/Inf entries. Such an action never reaches a motor.
    """
    arr = np.asarray(action, dtype=np.float64)
    if arr.shape != (ACTION_DIM,):
        raise ValueError(
            f"action has shape {arr.shape}, expected ({ACTION_DIM},) = {list(ACTION_NAMES)}; "
            "restrict DoF with a wrapper instead of sending a shorter action"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"action contains NaN/Inf: {arr.tolist()}; the command was rejected")
    return np.clip(arr, -1.0, 1.0)


def base_info(success: bool) -> dict[str, Any]:
    """The ``info`` keys every env reports; wrappers (intervention, safety) fill in the rest."""
    return {"success": bool(success), "is_intervention": False, "intervene_action": None, "safety": []}

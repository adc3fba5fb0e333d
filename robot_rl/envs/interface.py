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

from dataclasses import dataclass
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


@dataclass
class ArmEnvSettings:
    """Constructor settings every simulated arm env shares (``gym.make(id, **settings)``)."""

    control_hz: float = 10.0  # control steps per second
    physics_dt: float = 0.005  # simulator step [s], at most 5 ms
    action_scale: tuple[float, float] = (0.03, 0.15)  # metres, radians per unit action
    reward_type: str = "sparse"  # sparse | dense
    terminate_on_success: bool = True
    images: bool = False  # add camera images to the observation
    cameras: tuple[str, ...] = ("front", "wrist")
    image_size: int = 128  # square image side [px]
    render_mode: str | None = None  # None | rgb_array
    render_size: int = 480  # render() frame side [px]

    def substeps(self, minimum: int = 1) -> int:
        """Physics steps per control step; raises ``ValueError`` naming the bad setting."""
        if self.reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type={self.reward_type!r} is not one of ['sparse', 'dense']")
        if self.physics_dt > 0.005:
            raise ValueError(f"physics_dt={self.physics_dt} exceeds 0.005 s; contacts need a smaller step")
        if self.render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={self.render_mode!r} is not one of [None, 'rgb_array']")
        substeps = round(1.0 / (self.control_hz * self.physics_dt))
        if substeps < minimum or abs(substeps * self.physics_dt * self.control_hz - 1.0) > 1e-6:
            raise ValueError(
                f"control period 1/{self.control_hz} s is not a whole number (>= {minimum}) of "
                f"physics_dt={self.physics_dt} s steps; pick control_hz and physics_dt that divide"
            )
        return substeps

    def apply(self, env: gym.Env, minimum_substeps: int = 1) -> None:
        """Validate, then set the interface attributes (``control_hz``, ``action_scale`` ...) on ``env``."""
        env.substeps = self.substeps(minimum_substeps)
        env.control_hz = float(self.control_hz)
        env.period_s = 1.0 / self.control_hz
        env.action_scale = np.array(self.action_scale, dtype=np.float64)
        env.reward_type = self.reward_type
        env.terminate_on_success = self.terminate_on_success
        env.cameras = tuple(self.cameras) if self.images else ()
        env.image_size = self.image_size
        env.render_mode = self.render_mode
        env.render_size = self.render_size
        env.metadata = {**env.metadata, "render_fps": self.control_hz}


def step_outcome(
    settings_env: gym.Env, success: bool, dense_reward: float, terms: dict[str, float]
) -> tuple[float, bool, dict[str, Any]]:
    """(reward, terminated, info) of a step from the task's evaluation, per the env's reward settings."""
    reward = float(success) if settings_env.reward_type == "sparse" else float(dense_reward)
    info = base_info(success)
    info.update(terms)
    return reward, bool(success and settings_env.terminate_on_success), info


class ArmEnv(gym.Env):
    """Base of the simulated arms: ``render()`` shows the ``front`` camera (subclasses define
    ``render_camera(camera, size)``); ``ArmEnvSettings.apply`` sets the attributes it reads."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    render_size: int = 480

    def render_camera(self, camera: str, size: int) -> np.ndarray:
        raise NotImplementedError

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_size)

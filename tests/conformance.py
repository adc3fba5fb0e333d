"""Reusable conformance check for the one env interface (docs/env_interface.md).

Any env of the project — MuJoCo, PyBullet, ``RosRobotEnv`` over a real or simulated arm — must pass
``check_env_conformance(factory)``. Each failed check raises ``AssertionError`` naming the rule.

    from tests.conformance import check_env_conformance
    check_env_conformance(lambda: gym.make("robot_rl/PandaPickCube-v0"), expect_images=False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.envs.interface import ACTION_DIM, INFO_KEYS, STATE_PARTS, WRENCH_PART

EnvFactory = Callable[[], gym.Env]


def check_env_conformance(
    make_env: EnvFactory,
    *,
    expect_images: bool,
    randomized_reset: bool = True,
    deterministic: bool = True,
    n_steps: int = 8,
    seed: int = 123,
) -> None:
    """Run every rule of the interface against envs built by ``make_env``.

    :param expect_images: the factory enables cameras; ``images`` must then be present, else absent.
    :param randomized_reset: different seeds must give different initial states (randomised tasks).
    :param deterministic: same seed + same actions must give the same trajectory (simulators);
        pass False for envs over real processes, where only the bounds are checked.
    """
    env = make_env()
    try:
        _check_spaces(env, expect_images)
        _check_reset_and_step(env, n_steps, seed)
        _check_action_bounds(env, seed)
        _check_bad_actions(env, seed)
        if randomized_reset:
            _check_seeds_differ(env, seed)
        if deterministic:
            other = make_env()
            try:
                _check_reproducible(env, other, n_steps, seed)
            finally:
                other.close()
    finally:
        env.close()


# ------------------------------------------------------------------------------------------ spaces
def _check_spaces(env: gym.Env, expect_images: bool) -> None:
    space = env.action_space
    assert isinstance(space, gym.spaces.Box), f"action space must be a Box, got {space}"
    assert space.shape == (ACTION_DIM,), f"action shape {space.shape} != ({ACTION_DIM},)"
    assert space.dtype == np.float32, f"action dtype {space.dtype} != float32"
    assert np.all(space.low == -1.0) and np.all(space.high == 1.0), "action bounds must be [-1, 1]"

    obs_space = env.observation_space
    assert isinstance(obs_space, gym.spaces.Dict), f"observation space must be a Dict, got {obs_space}"
    extra = set(obs_space.spaces) - {"state", "images", "privileged"}
    assert not extra, f"unknown top-level observation keys {sorted(extra)}"
    state = obs_space["state"]
    assert isinstance(state, gym.spaces.Dict), "observation['state'] must be a Dict of named parts"
    for name, size in STATE_PARTS.items():
        assert name in state.spaces, f"state part {name!r} missing (have {sorted(state.spaces)})"
        part = state[name]
        assert part.dtype == np.float32, f"state[{name!r}] dtype {part.dtype} != float32"
        if size is not None:
            assert part.shape == (size,), f"state[{name!r}] shape {part.shape} != ({size},)"
    assert state["joint_pos"].shape == state["joint_vel"].shape, "joint_pos and joint_vel sizes differ"
    if WRENCH_PART in state.spaces:
        assert state[WRENCH_PART].shape == (6,), "tcp_wrench must be (6,)"

    if expect_images:
        assert "images" in obs_space.spaces, "cameras enabled but observation has no 'images'"
        images = obs_space["images"]
        assert len(images.spaces) >= 1, "'images' holds no camera"
        for cam, box in images.spaces.items():
            assert box.dtype == np.uint8, f"images[{cam!r}] dtype {box.dtype} != uint8"
            assert len(box.shape) == 3 and box.shape[2] == 3, (
                f"images[{cam!r}] shape {box.shape} is not HxWx3"
            )
    else:
        assert "images" not in obs_space.spaces, "cameras disabled but observation has 'images'"

    hz = getattr(env.unwrapped, "control_hz", None)
    assert isinstance(hz, (int, float)) and hz > 0, f"env.unwrapped.control_hz must be > 0, got {hz}"
    scale = np.asarray(getattr(env.unwrapped, "action_scale", None), dtype=np.float64)
    assert scale.shape == (2,) and np.all(scale > 0), "env.unwrapped.action_scale must be (m, rad) > 0"


# ------------------------------------------------------------------------------------------ steps
def _check_obs(env: gym.Env, obs: Any, where: str) -> None:
    assert env.observation_space.contains(obs), f"{where}: observation outside observation_space"
    quat = obs["state"]["tcp_pose"][3:]
    assert abs(float(np.linalg.norm(quat)) - 1.0) < 1e-3, f"{where}: tcp_pose quaternion not unit"
    for cam, img in obs.get("images", {}).items():
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, f"{where}: images[{cam}]"
        assert img.std() > 1.0, f"{where}: images[{cam!r}] is blank"


def _check_info(info: dict[str, Any], where: str) -> None:
    missing = [k for k in INFO_KEYS if k not in info]
    assert not missing, f"{where}: info lacks {missing}"
    assert isinstance(info["success"], (bool, np.bool_)), f"{where}: info['success'] must be a bool"
    assert isinstance(info["is_intervention"], (bool, np.bool_)), f"{where}: is_intervention not bool"
    assert isinstance(info["safety"], list), f"{where}: info['safety'] must be a list of events"


def _check_reset_and_step(env: gym.Env, n_steps: int, seed: int) -> None:
    obs, info = env.reset(seed=seed)
    _check_obs(env, obs, "reset")
    _check_info(info, "reset")
    rng = np.random.default_rng(seed)
    for t in range(n_steps):
        action = rng.uniform(-1, 1, ACTION_DIM).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        _check_obs(env, obs, f"step {t}")
        _check_info(info, f"step {t}")
        assert np.isscalar(reward) and np.isfinite(reward), f"step {t}: reward {reward!r} not a finite scalar"
        assert isinstance(terminated, (bool, np.bool_)) and isinstance(truncated, (bool, np.bool_))
        if terminated or truncated:
            env.reset(seed=seed + t + 1)


def _check_action_bounds(env: gym.Env, seed: int) -> None:
    """An action far outside [-1, 1] moves the TCP no further than a saturated one may."""
    scale_m = float(np.asarray(env.unwrapped.action_scale)[0])
    bound_m = scale_m * np.sqrt(3.0) * 1.25 + 0.005  # saturated step, with controller overshoot margin
    obs, _ = env.reset(seed=seed)
    for direction in (+1.0, -1.0):
        for _ in range(2):
            before = obs["state"]["tcp_pose"][:3].copy()
            action = np.full(ACTION_DIM, 10.0 * direction, dtype=np.float32)
            obs, *_ = env.step(action)
            moved = float(np.linalg.norm(obs["state"]["tcp_pose"][:3] - before))
            assert moved <= bound_m, f"action 10x out of bounds moved the TCP {moved:.4f} m > {bound_m:.4f} m"


def _check_bad_actions(env: gym.Env, seed: int) -> None:
    env.reset(seed=seed)
    for bad, why in ((np.full(ACTION_DIM, np.nan), "NaN"), (np.zeros(ACTION_DIM - 1), "wrong shape")):
        try:
            env.step(bad.astype(np.float32))
        except ValueError:
            continue
        raise AssertionError(f"a {why} action was accepted; it must raise ValueError and never move")


def _check_seeds_differ(env: gym.Env, seed: int) -> None:
    a, _ = env.reset(seed=seed)
    b, _ = env.reset(seed=seed + 1)
    assert not _obs_equal(a, b), "different seeds gave the same initial state; is reset randomised?"


def _check_reproducible(env: gym.Env, other: gym.Env, n_steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, (n_steps, ACTION_DIM)).astype(np.float32)
    first = [env.reset(seed=seed)[0]] + [env.step(a)[0] for a in actions]
    env.reset(seed=seed + 7)  # disturb the env's state; the seed alone must restore it
    again = [env.reset(seed=seed)[0]] + [env.step(a)[0] for a in actions]
    fresh = [other.reset(seed=seed)[0]] + [other.step(a)[0] for a in actions]
    for t, (x, y, z) in enumerate(zip(first, again, fresh, strict=True)):
        assert _obs_equal(x, y), f"same seed and actions diverged at step {t} (same env)"
        assert _obs_equal(x, z), f"same seed and actions diverged at step {t} (fresh env)"


def _obs_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_obs_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))

"""PyBullet PandaPickCube (sim/bullet/pick_cube.py): the scripted expert solves it, seeds replay exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sim.bullet.pick_cube import HOME_QPOS, PandaPickCubeBulletEnv
from sim.experts import DOWN_QUAT, PickCubeExpert


@pytest.fixture
def env() -> Iterator[PandaPickCubeBulletEnv]:
    e = PandaPickCubeBulletEnv()
    yield e
    e.close()


def _expert_success_rate(env: PandaPickCubeBulletEnv, seeds: range, max_steps: int = 100) -> float:
    expert = PickCubeExpert(env.action_scale)
    successes = 0
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for _ in range(max_steps):
            obs, _, terminated, _, info = env.step(expert(obs))
            if terminated:
                successes += int(info["success"])
                break
    return successes / len(seeds)


def test_home_posture_points_the_fingers_down(env: PandaPickCubeBulletEnv) -> None:
    obs, info = env.reset(seed=0)
    quat = obs["state"]["tcp_pose"][3:]
    assert abs(abs(float(np.dot(quat, DOWN_QUAT))) - 1.0) < 1e-3, f"home TCP quaternion {quat} != {DOWN_QUAT}"
    np.testing.assert_allclose(obs["state"]["joint_pos"], HOME_QPOS, atol=5e-3)
    assert obs["state"]["gripper_pos"][0] > 0.95, "gripper should start open"
    assert abs(float(obs["privileged"]["cube_pos"][2]) - 0.02) < 1e-3, "cube should rest on the table"
    assert not info["success"]


def test_expert_picks_the_cube(env: PandaPickCubeBulletEnv) -> None:
    rate = _expert_success_rate(env, range(20))
    assert rate >= 0.95, f"PickCubeExpert succeeded in {rate:.0%} of 20 seeded episodes"


@pytest.mark.slow
def test_expert_picks_the_cube_100_seeds(env: PandaPickCubeBulletEnv) -> None:
    rate = _expert_success_rate(env, range(100))
    assert rate >= 0.95, f"PickCubeExpert succeeded in {rate:.0%} of 100 seeded episodes"


def _rollout(env: PandaPickCubeBulletEnv, seed: int, actions: np.ndarray) -> list[dict[str, Any]]:
    return [env.reset(seed=seed)[0]] + [env.step(a)[0] for a in actions]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))


def test_reset_does_not_depend_on_the_previous_episode(env: PandaPickCubeBulletEnv) -> None:
    """After episodes that grasp and lift the cube and press the fingers on the table, a seed still
    replays bit for bit what a fresh env does (contacts and warm-started impulses must not leak)."""
    env.reset(seed=4)
    for _ in range(15):  # drive the closed gripper into the table
        env.step(np.array([0.3, -0.2, -1.0, 0.0, 0.0, 0.2, 1.0], dtype=np.float32))
    expert = PickCubeExpert(env.action_scale)
    obs, _ = env.reset(seed=0)
    for _ in range(25):  # grasp, lift and keep holding
        obs, *_ = env.step(expert(obs))
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (20, 7)).astype(np.float32)
    actions[:, 2] = -np.abs(actions[:, 2])  # keep near the table, where the contacts are
    fresh = PandaPickCubeBulletEnv()
    try:
        for t, (a, b) in enumerate(zip(_rollout(env, 1, actions), _rollout(fresh, 1, actions), strict=True)):
            assert _equal(a, b), f"used and fresh env diverged at step {t}"
    finally:
        fresh.close()


def test_dense_reward_and_render() -> None:
    env = PandaPickCubeBulletEnv(reward_type="dense", render_mode="rgb_array", render_size=96)
    try:
        env.reset(seed=1)
        _, reward, _, _, info = env.step(np.zeros(7, dtype=np.float32))
        assert 0.0 <= reward <= 3.0
        terms = ("reward_reach", "reward_grasp", "reward_lift")
        assert reward == pytest.approx(sum(info[k] for k in terms))
        frame = env.render()
        assert frame is not None and frame.shape == (96, 96, 3) and frame.dtype == np.uint8
        assert frame.std() > 1.0
    finally:
        env.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"physics_dt": 0.01},
        {"reward_type": "shaped"},
        {"render_mode": "human"},
        {"control_hz": 7.0},
        {"images": True, "cameras": ("front", "side")},
    ],
)
def test_rejects_bad_config(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PandaPickCubeBulletEnv(**kwargs)

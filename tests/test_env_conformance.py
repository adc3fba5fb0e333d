"""Every env of the project passes the one-interface conformance check (tests/conformance.py)."""

from __future__ import annotations

import gymnasium as gym
import pytest

import robot_rl  # noqa: F401  (registers the ids)
from tests.conformance import check_env_conformance

ENV_IDS = ["robot_rl/PandaPickCube-v0", "robot_rl/PandaPegInsert-v0", "robot_rl/PandaPickCubeBullet-v0"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_state_only_env_conforms(env_id: str) -> None:
    check_env_conformance(lambda: gym.make(env_id), expect_images=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_with_cameras_conforms(env_id: str) -> None:
    check_env_conformance(lambda: gym.make(env_id, images=True, image_size=64), expect_images=True, n_steps=3)


def test_make_env_runs_episodes_longer_than_the_registered_limit() -> None:
    """task.max_episode_steps above the ids' registered 100 steps (e.g. 300 on a real arm) is honoured."""
    import numpy as np

    from robot_rl.config import load_config, task_config
    from robot_rl.envs.make import make_env

    cfg = load_config("train", ["task=pick_cube", "task.max_episode_steps=130"])
    env = make_env(task_config(cfg.task))
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape, np.float32))
        steps, done = steps + 1, terminated or truncated
    assert steps == 130 and truncated
    env.close()

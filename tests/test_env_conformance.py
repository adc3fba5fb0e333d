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

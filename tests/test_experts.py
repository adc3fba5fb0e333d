"""The scripted experts solve the MuJoCo tasks (issue bar: >= 95% pick-cube, >= 90% peg-insert, 100 seeds)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robot_rl  # noqa: F401
from sim.experts import make_expert


def expert_success_rate(env_id: str, expert_name: str, episodes: int, seed0: int = 0) -> float:
    env = gym.make(env_id)
    expert = make_expert(expert_name, env.unwrapped.action_scale)
    successes = 0
    for i in range(episodes):
        obs, info = env.reset(seed=seed0 + i)
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(expert(obs))
        successes += bool(info["success"])
    env.close()
    return successes / episodes


@pytest.mark.parametrize(
    ("env_id", "expert", "bar"),
    [("robot_rl/PandaPickCube-v0", "pick_cube", 0.95), ("robot_rl/PandaPegInsert-v0", "peg_insert", 0.90)],
)
def test_expert_meets_bar_over_100_seeds(env_id: str, expert: str, bar: float) -> None:
    assert expert_success_rate(env_id, expert, episodes=100) >= bar


def test_doing_nothing_does_not_succeed() -> None:
    """The success check is not trivially true: a motionless arm never succeeds."""
    for env_id in ("robot_rl/PandaPickCube-v0", "robot_rl/PandaPegInsert-v0"):
        env = gym.make(env_id)
        env.reset(seed=0)
        for _ in range(20):
            *_, info = env.step(np.zeros(7, dtype=np.float32))
            assert not info["success"]

"""The classifier-reward wrapper: the classifier's verdict is the reward and ends the episode; the
task's own verdict is kept beside it and false positives are counted."""

from __future__ import annotations

import numpy as np

from robot_rl.envs.classifier_reward import ClassifierReward, ClassifierStats
from robot_rl.envs.point_mass import PointMassEnv


class RightHalf:
    """Says 'success' with probability x (the point's x coordinate mapped to [0, 1])."""

    threshold = 0.75

    def probability(self, obs: np.ndarray) -> float:
        return float((obs[0] + 1.0) / 2.0)


def test_classifier_verdict_is_the_reward_and_ends_the_episode() -> None:
    env = ClassifierReward(PointMassEnv(goal_radius=0.0), RightHalf())
    obs, _ = env.reset(seed=0)
    stats, rewards = ClassifierStats(), []
    terminated = False
    while not terminated:
        obs, reward, terminated, _, info = env.step(np.array([1.0, 0.0], np.float32))
        stats.add_step(info)
        rewards.append(reward)
        assert info["success"] == (info["classifier_probability"] >= 0.75) == bool(reward)
        assert info["task_success"] is False  # a zero-radius goal is never reached: every reward is false
    stats.end_episode(info)
    assert rewards[-1] == 1.0 and sum(rewards) == 1.0 and obs[0] >= 0.5
    assert stats.summary() == {"episodes": 1, "rewarded_steps": 1, "false_positive_steps": 1,
                               "false_positive_rate": 1.0, "missed_success_episodes": 0}  # fmt: skip


def test_without_termination_the_episode_runs_on() -> None:
    env = ClassifierReward(PointMassEnv(goal_radius=0.0), RightHalf(), terminate_on_success=False)
    env.reset(seed=0)
    rewards = [env.step(np.array([1.0, 0.0], np.float32))[1] for _ in range(30)]
    assert rewards[-1] == 1.0 and sum(rewards) > 5


def test_rlif_and_a_reward_classifier_are_refused_together() -> None:
    """RLIF's reward is the take-overs; the classifier (outside Intervention) used to overwrite it."""
    import pytest

    from robot_rl.config import ConfigError, load_config, task_config
    from robot_rl.envs.make import make_env

    task = task_config(load_config("train", ["task=pick_cube"]).task)
    with pytest.raises(ConfigError, match=r"intervention=rlif.*reward_classifier"):
        make_env(task, reward_classifier=RightHalf(), intervention_mode="rlif")

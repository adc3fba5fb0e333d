"""A learned success classifier as the reward (robot_rl/rewards): where no simulator knows the truth.

``ClassifierReward`` runs the classifier on every observation the env returns, through the same
preprocessing the classifier was trained with (``RewardClassifier.probability``). The reward becomes 1
when the probability reaches the classifier's calibrated threshold and 0 otherwise, and with
``terminate_on_success`` the episode ends there. ``info["success"]`` then means what the reward means
(the classifier's verdict); the env's own verdict, where it has one (simulation), moves to
``info["task_success"]`` and its reward to ``info["task_reward"]``, so a run can count the
classifier's false positives (``ClassifierStats``). ``make_env`` builds the env under this wrapper with
``terminate_on_success=false``, so that the true success does not end episodes behind the classifier's back.
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np


class SuccessClassifier(Protocol):
    threshold: float

    def probability(self, obs: dict[str, Any]) -> float: ...


class ClassifierReward(gym.Wrapper):
    def __init__(
        self, env: gym.Env, classifier: SuccessClassifier, terminate_on_success: bool = True
    ) -> None:
        super().__init__(env)
        self.classifier, self.terminate_on_success = classifier, terminate_on_success

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        probability = float(self.classifier.probability(obs))
        success = probability >= self.classifier.threshold
        info["task_success"], info["task_reward"] = bool(info.get("success", False)), reward
        info["success"], info["classifier_probability"] = success, probability
        terminated = bool(terminated or (success and self.terminate_on_success))
        return obs, float(success), terminated, truncated, info


class ClassifierStats:
    """Counts, over training episodes, how often the classifier's verdict disagreed with the task's."""

    def __init__(self) -> None:
        self.episodes = self.rewarded_steps = self.false_positive_steps = self.missed_episodes = 0

    def add_step(self, info: dict[str, Any]) -> None:
        if "task_success" not in info:
            return
        self.rewarded_steps += int(info["success"])
        self.false_positive_steps += int(info["success"] and not info["task_success"])

    def end_episode(self, info: dict[str, Any]) -> None:
        if "task_success" in info:
            self.episodes += 1
            self.missed_episodes += int(info["task_success"] and not info["success"])

    def summary(self) -> dict[str, float]:
        """False positives among the rewarded steps, and true successes the classifier missed."""
        return {
            "episodes": self.episodes,
            "rewarded_steps": self.rewarded_steps,
            "false_positive_steps": self.false_positive_steps,
            "false_positive_rate": self.false_positive_steps / max(self.rewarded_steps, 1),
            "missed_success_episodes": self.missed_episodes,
        }

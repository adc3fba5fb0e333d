"""A tiny 2-D point-mass reaching env for fast learning tests (no simulator): reach the goal disc.

Observation ``Box(4)``: position (2) and goal (2) in [-1, 1]. Action ``Box(2)``: velocity command,
0.1 per step per unit. Sparse reward 1 on reaching within ``goal_radius`` (terminates), else 0;
``dense=True`` gives minus the distance instead. Start and goal are uniform in the square.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class PointMassEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, goal_radius: float = 0.1, step_size: float = 0.1, dense: bool = False) -> None:
        self.goal_radius, self.step_size, self.dense = goal_radius, step_size, dense
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.pos = np.zeros(2)
        self.goal = np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.pos, self.goal]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2)
        self.goal = self.np_random.uniform(-1, 1, 2)
        return self._obs(), {"success": False}

    def step(self, action: np.ndarray):
        self.pos = np.clip(self.pos + self.step_size * np.clip(action, -1, 1), -1, 1)
        dist = float(np.linalg.norm(self.pos - self.goal))
        success = dist < self.goal_radius
        reward = -dist if self.dense else float(success)
        return self._obs(), reward, success, False, {"success": success}

"""Learned risk monitors: they fire *before* a limit trips, so a backup can take over in time.

- ``SafetyCritic`` (in the manner of Recovery RL, Thananjeyan et al. 2021): Q_risk(s, a) estimates the
  discounted probability that a safety limit trips from state s after action a. It learns online from
  the shield's own experience: the target of step t is ``max(c_t, gamma * y_{t+1})`` over the episode,
  with c_t = 1 when the state after step t tripped a measured limit.
- ``EnsembleDisagreement``: the spread (std) of the learner's critic ensemble at (s, a); a high spread
  means the learner is extrapolating.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

#: State parts the safety critic reads (those every arm env has; ``tcp_wrench`` where sensed).
RISK_STATE_PARTS = ("tcp_pose", "tcp_vel", "gripper_pos", "joint_pos", "joint_vel", "tcp_wrench")


def risk_features(state: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(state[k]) for k in RISK_STATE_PARTS if k in state]).astype(np.float32)


class SafetyCritic:
    """:param gamma: discount of the violation target (0.85: a trip ~6 steps ahead still counts ~40%)."""

    def __init__(
        self,
        gamma: float = 0.85,
        hidden: int = 128,
        capacity: int = 50_000,
        batch_size: int = 256,
        train_every: int = 50,
        updates: int = 10,
        lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        self.gamma, self.capacity, self.batch_size = gamma, capacity, batch_size
        self.train_every, self.updates, self.lr = train_every, updates, lr
        self.hidden = hidden
        self.generator = torch.Generator().manual_seed(seed)
        self.net: nn.Module | None = None  # built on the first sample (input size from the state)
        self.inputs: np.ndarray | None = None
        self.targets = np.zeros(capacity, dtype=np.float32)
        self.size = self.next = 0
        self.steps = 0
        self.episode: list[tuple[np.ndarray, float]] = []

    def _build(self, dim: int) -> None:
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator)))
        self.net = nn.Sequential(
            nn.Linear(dim, self.hidden), nn.LayerNorm(self.hidden), nn.ReLU(),
            nn.Linear(self.hidden, self.hidden), nn.ReLU(), nn.Linear(self.hidden, 1),
        )  # fmt: skip
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.inputs = np.zeros((self.capacity, dim), dtype=np.float32)

    def risk(self, obs: dict[str, Any], action: np.ndarray) -> float:
        """Estimated discounted probability of a limit trip after ``action`` from ``obs``."""
        if self.net is None:
            return 0.0
        x = torch.as_tensor(np.concatenate([risk_features(obs["state"]), np.asarray(action, np.float32)]))
        with torch.no_grad():
            return float(torch.sigmoid(self.net(x[None]))[0, 0])

    def observe(self, obs: dict[str, Any], action: np.ndarray, violated: bool, done: bool) -> None:
        """One executed step from ``obs``; ``violated``: the state after it tripped a measured limit."""
        x = np.concatenate([risk_features(obs["state"]), np.asarray(action, np.float32)])
        if self.net is None:
            self._build(len(x))
        self.episode.append((x, float(violated)))
        if done or violated:  # a violation ends the backward pass: what follows is the backup's
            self._close_episode()
        self.steps += 1
        if self.steps % self.train_every == 0 and self.size >= self.batch_size:
            self.train()

    def end_episode(self) -> None:
        """The episode ended where ``observe`` could not tell (a time limit outside the shield, a reset)."""
        if self.episode:
            self._close_episode()

    def _close_episode(self) -> None:
        target = 0.0
        for x, cost in reversed(self.episode):
            target = max(cost, self.gamma * target)
            self.inputs[self.next] = x
            self.targets[self.next] = target
            self.next = (self.next + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)
        self.episode = []

    def train(self) -> float:
        loss = torch.zeros(())
        for _ in range(self.updates):
            idx = torch.randint(0, self.size, (self.batch_size,), generator=self.generator).numpy()
            logits = self.net(torch.as_tensor(self.inputs[idx]))[:, 0]
            loss = nn.functional.binary_cross_entropy_with_logits(logits, torch.as_tensor(self.targets[idx]))
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())


class EnsembleDisagreement:
    """Fires on the std of ``q_values(obs, action) -> (n_critics,)`` (the learner's ensemble)."""

    def __init__(self, q_values: Callable[[dict[str, Any], np.ndarray], np.ndarray]) -> None:
        self.q_values = q_values

    def risk(self, obs: dict[str, Any], action: np.ndarray) -> float:
        return float(np.std(self.q_values(obs, action)))

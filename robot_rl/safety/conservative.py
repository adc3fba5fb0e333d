"""Conservative exploration: choose, per episode, between a trusted baseline policy and the learner so
that the expected return stays above a floor (in the spirit of EpsMix/StepMix, conservative
exploration for RL; Garcelon et al. 2020).

With mean returns R_b (baseline) and R_l (learner) over recent episodes, the learner gets probability
p with p * R_l + (1 - p) * R_b >= floor * R_b, i.e. p = min(1, (1 - floor) * R_b / (R_b - R_l)); p is 1
once the learner is as good as the floor, and never below ``min_learner_prob`` (it must be tried to
be measured). Returns are assumed >= 0 (sparse success rewards).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np


class ConservativeMixer:
    def __init__(self, floor: float = 0.8, min_learner_prob: float = 0.1, window: int = 20, seed: int = 0):
        if not 0.0 <= floor <= 1.0:
            raise ValueError(f"conservative floor={floor} must be in [0, 1] (a fraction of the baseline)")
        self.floor, self.min_learner_prob = floor, min_learner_prob
        self.returns = {"baseline": deque(maxlen=window), "learner": deque(maxlen=window)}
        self.rng = np.random.default_rng(seed)

    def learner_prob(self) -> float:
        base, learner = self.returns["baseline"], self.returns["learner"]
        if not base:
            return self.min_learner_prob  # measure the baseline first (mostly)
        r_b = float(np.mean(base))
        r_l = float(np.mean(learner)) if learner else 0.0
        if r_l >= self.floor * r_b or r_b <= 0.0:
            return 1.0
        return float(np.clip((1.0 - self.floor) * r_b / (r_b - r_l), self.min_learner_prob, 1.0))

    def choose(self) -> str:
        """Who acts in the next episode: ``"learner"`` or ``"baseline"``."""
        return "learner" if self.rng.random() < self.learner_prob() else "baseline"

    def record(self, who: str, episode_return: float) -> None:
        self.returns[who].append(float(episode_return))

    def state_dict(self) -> dict[str, Any]:
        """The recent returns and the RNG (JSON-ready), so a resumed run goes on choosing as before."""
        return {
            "returns": {who: list(r) for who, r in self.returns.items()},
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for who, returns in state["returns"].items():
            self.returns[who].clear()
            self.returns[who].extend(returns)
        self.rng.bit_generator.state = state["rng"]

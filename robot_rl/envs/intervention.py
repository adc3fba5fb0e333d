"""Interventions: an operator's action replaces the policy's while they hold control.

``Intervention`` sits right outside the safety shield (DESIGN.md's wrapper order), so an operator's
command passes the same shield as the policy's, and it sees the full 7-D action. Every step reports
``info["is_intervention"]`` and ``info["intervene_action"]``: the operator's action (what was executed,
and what a learner stores), or None while the policy acts. Two reward modes:

- ``hil_serl`` (HIL-SERL): the task reward is kept; the learner puts intervened transitions into its
  online buffer *and* its demo buffer.
- ``rlif`` (RLIF): the task reward is ignored; the reward is -1 on the step where the operator takes
  over and 0 otherwise, so the policy learns to avoid what makes a human step in. The operator's action
  executes on that step, so a learner gives the -1 to the policy's refused proposal instead, as a
  terminal transition of its own (``info["takeover"]``; ``Trainer.store``).

``InterventionTally`` turns the per-step flags into the per-episode numbers that are logged: ``count``
(take-overs) and ``rate`` (share of steps the operator drove).

An operator is anything with ``command(obs, proposed_action) -> action | None`` (None: not in control)
and ``reset()``: a teleop device (drivers/teleop) or a simulated intervener (sim/intervener.py).
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from robot_rl.errors import ConfigError

MODES = ("hil_serl", "rlif")


class Operator(Protocol):
    def command(self, obs: Any, proposed_action: np.ndarray) -> np.ndarray | None: ...

    def reset(self) -> None: ...


class Intervention(gym.Wrapper):
    def __init__(self, env: gym.Env, operator: Operator, mode: str = "hil_serl") -> None:
        super().__init__(env)
        if mode not in MODES:
            raise ValueError(f"intervention mode {mode!r} is not one of {list(MODES)}")
        self.operator, self.mode = operator, mode
        self.obs: Any = None
        self.was_intervening = False

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.obs, info = self.env.reset(**kwargs)
        self.operator.reset()
        self.was_intervening = False
        return self.obs, info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        human = self.operator.command(self.obs, np.asarray(action, dtype=np.float32))
        intervening = human is not None
        takeover = intervening and not self.was_intervening
        executed = np.clip(np.asarray(human, dtype=np.float32), -1.0, 1.0) if intervening else action
        self.obs, reward, terminated, truncated, info = self.env.step(executed)
        self.was_intervening = intervening
        info["is_intervention"], info["takeover"] = intervening, takeover
        info["intervene_action"] = executed if intervening else None
        if self.mode == "rlif":
            info["task_reward"] = reward
            reward = -1.0 if takeover else 0.0
        return self.obs, reward, terminated, truncated, info


def check_reward_source(mode: str | None, reward_classifier: Any) -> None:
    """RLIF's reward is the take-overs; a reward classifier (outside ``Intervention``) would replace it."""
    if mode == "rlif" and reward_classifier is not None:
        raise ConfigError(
            "intervention=rlif takes its reward from the operator's take-overs, and a reward classifier "
            "would replace it: drop train.reward_classifier, or use intervention=hil_serl"
        )


def executed_action(proposed: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """What a step executed (the operator's action while they drove, else the proposal), whether an
    operator drove it, and the proposal they refused by taking over on this step (else None)."""
    intervened = bool(info.get("is_intervention", False))
    executed = np.asarray(info["intervene_action"] if intervened else proposed, dtype=np.float32)
    refused = np.asarray(proposed, dtype=np.float32) if info.get("takeover", False) else None
    return executed, intervened, refused


class InterventionTally:
    """Per-episode intervention numbers from the per-step ``is_intervention`` flags."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.takeovers = self.intervened = self.steps = 0
        self.previous = False

    def add(self, is_intervention: bool) -> None:
        self.takeovers += int(is_intervention and not self.previous)
        self.intervened += int(is_intervention)
        self.steps += 1
        self.previous = is_intervention

    def end_episode(self) -> dict[str, float]:
        """``{"count": take-overs, "rate": share of steps intervened}``, and start a new episode."""
        stats = {"count": float(self.takeovers), "rate": self.intervened / max(self.steps, 1)}
        self.clear()
        return stats

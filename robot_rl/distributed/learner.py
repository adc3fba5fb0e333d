"""The learner process's loop: store transitions from any number of actors, learn at a fixed
update-to-data ratio, publish weights, evaluate and checkpoint (through the single-process ``Trainer``'s
agent, buffers, logger and evaluation, so both paths share one implementation).

Transitions of several actors interleave in one replay buffer: a transition that starts an episode
(``first``) or comes from a different actor session than the previous one starts a new frame chain, so
no next-observation is ever taken from another actor's stream.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from safetensors.torch import save as save_weights

from robot_rl.envs.intervention import InterventionTally
from robot_rl.loop import Trainer
from robot_rl.transport.learner_server import LearnerServer

log = logging.getLogger(__name__)


class Learner:
    """:param publish_every: critic updates between weight broadcasts."""

    def __init__(self, trainer: Trainer, server: LearnerServer, *, publish_every: int = 200) -> None:
        self.trainer, self.server, self.publish_every = trainer, server, publish_every
        self.received = 0  # transitions stored
        self.pending: deque[list[Any]] = deque()  # [session, count] not yet consumed, in arrival order
        self.last_session: str | None = None
        self.episode_returns: dict[str, float] = {}
        # per actor session
        self.tallies: defaultdict[str, InterventionTally] = defaultdict(InterventionTally)
        self._published_at = -publish_every

    def run(
        self, should_stop: Callable[[], bool] = lambda: False, on_idle: Callable[[], None] = lambda: None
    ):
        """Train until ``train.total_env_steps`` transitions are consumed; returns the run summary."""
        cfg, trainer = self.trainer.cfg, self.trainer
        start = self.trainer.start_time = time.time()
        self.trainer.start_steps = self.trainer.env_steps
        self.publish()
        while trainer.env_steps < cfg.total_env_steps and not should_stop():
            backlog = self.received - trainer.env_steps
            for _, session, items in self.server.poll(0.0 if backlog else 0.02):
                self.store(session, items)
            if self.received > trainer.env_steps:
                self.consume_one()
            on_idle()
        return trainer.finish(time.time() - start)

    def store(self, session: str, items: list[dict[str, Any]]) -> None:
        for item in items:
            intervened = bool(item.get("is_intervention", False))
            self.trainer.store(item["obs"], item["action"], float(item["reward"]), item["next_obs"],
                               bool(item["terminated"]), bool(item["truncated"]), intervened,
                               new_chain=item.get("first", False) or session != self.last_session,
                               refused_action=item.get("refused_action"))  # fmt: skip
            self.tallies[session].add(intervened)
            self.last_session = session
            self.trainer.count_safety(item.get("safety", []))
            self._episode_stats(session, item)
        self.received += len(items)
        self.pending.append([session, len(items)])

    def consume_one(self) -> None:
        """Account for one received env step: the UTD updates it is owed, evaluation, checkpoints."""
        trainer = self.trainer
        trainer.env_steps += 1
        session_count = self.pending[0]
        session_count[1] -= 1
        self.server.grant(session_count[0], 1)
        if session_count[1] == 0:
            self.pending.popleft()
        trainer.after_env_step()
        if trainer.agent.num_updates - self._published_at >= self.publish_every:
            self.publish()
        if trainer.env_steps % 1000 == 0:
            self._progress()

    def _progress(self) -> None:
        """A progress line (launch output is line-based, so no progress bar here)."""
        steps, total = self.trainer.env_steps, self.trainer.cfg.total_env_steps
        rate = steps / max(time.time() - self.trainer.start_time, 1e-9)
        last = f", last eval {self.trainer.history[-1]['success_rate']:.0%}" if self.trainer.history else ""
        left_min = (total - steps) / max(rate, 1e-9) / 60
        log.info("%d/%d env steps (%.0f%%), %.0f steps/s%s, about %.1f min left",
                 steps, total, 100 * steps / total, rate, last, left_min)  # fmt: skip

    def publish(self) -> None:
        self._published_at = self.trainer.agent.num_updates
        self.server.publish_weights(save_weights(self.trainer.agent.policy_state()))

    def _episode_stats(self, session: str, item: dict[str, Any]) -> None:
        self.episode_returns[session] = self.episode_returns.get(session, 0.0) + float(item["reward"])
        if item["terminated"] or item["truncated"]:
            stats = {
                "rollout/return": self.episode_returns.pop(session),
                "rollout/success": float(item.get("success", False)),
                **self.trainer.intervention_stats(self.tallies.pop(session)),
            }
            self.trainer.logger.log(stats, self.trainer.env_steps)
            self.trainer.recent_successes.append(bool(item.get("success", False)))
            self.trainer.episodes += 1

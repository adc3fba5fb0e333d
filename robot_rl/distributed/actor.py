"""The actor process's loop: step the env with the latest policy, stream transitions to the learner.

On hardware (``realtime``) it holds ``control_hz``, or lets the robot's ticks hold it (``RosRobotEnv``).
In simulation it runs as fast as the learner allows: it waits while it is more than ``max_ahead_steps``
transitions ahead of what the learner has consumed (the learner's ``credit``), so the realised
update-to-data ratio does not depend on how fast the machine is. While the learner is away it keeps
acting with its last weights.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from safetensors.torch import load as load_weights

from robot_rl.agents import Agent
from robot_rl.data.layout import flatten_obs
from robot_rl.envs.intervention import executed_action
from robot_rl.envs.pacing import Pacer
from robot_rl.transport.actor_client import ActorClient

log = logging.getLogger(__name__)
STEP_TIMES_KEPT = 100_000  # step end times kept for timing (an actor node runs for days)


class Actor:
    """:param warmup_steps: uniform-random actions first (as in the single-process trainer)."""

    def __init__(
        self,
        env: gym.Env,
        agent: Agent,
        client: ActorClient,
        *,
        realtime: bool = False,
        max_ahead_steps: int = 64,
        warmup_steps: int = 0,
        seed: int = 0,
    ) -> None:
        self.env, self.agent, self.client = env, agent, client
        self.realtime, self.max_ahead_steps, self.warmup_steps = realtime, max_ahead_steps, warmup_steps
        self.pacer = Pacer(env, realtime=realtime)
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.steps = 0
        self.episodes = 0
        self.step_times: deque[float] = deque(maxlen=STEP_TIMES_KEPT)  # monotonic end of each recent step
        self._has_weights = False

    def run(self, total_steps: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> None:
        if not self.realtime:  # a simulated actor has nothing to learn from before the learner is up
            log.info("waiting for the learner")
            while not self.client.learner_alive and not should_stop():
                self._apply_weights(self.client.poll(0.05))
        obs = self._reset(self.seed * 100_003, should_stop)
        first = True
        self.pacer.restart()
        while (total_steps is None or self.steps < total_steps) and not should_stop():
            self._apply_weights(self.client.poll())
            if not self.realtime:
                self._wait_for_learner(should_stop)
            flat = flatten_obs(obs)
            if self.steps < self.warmup_steps or self.client.weights_version == 0:
                action = self.rng.uniform(-1, 1, self.env.action_space.shape).astype(np.float32)
            else:
                action = self.agent.act(flat)
            next_obs, reward, terminated, truncated, info = self.env.step(action)
            self.step_times.append(time.monotonic())
            executed, intervened, refused = executed_action(action, info)
            self.client.add(
                {
                    "obs": flat,
                    "action": executed,
                    "is_intervention": intervened,
                    "refused_action": refused,  # the proposal an operator refused by taking over (RLIF)
                    "reward": float(reward),
                    "next_obs": flatten_obs(next_obs),
                    "terminated": bool(terminated),
                    "truncated": bool(truncated),
                    "first": first,
                    "success": bool(info.get("success", False)),
                    "safety": [event["layer"] for event in info.get("safety", [])],
                }
            )
            self.steps += 1
            first = False
            if terminated or truncated:
                self.episodes += 1
                obs = self._reset(self.seed * 100_003 + self.episodes, should_stop)
                if obs is None:
                    break
                first = True
                self.pacer.restart()  # ticks count from the end of a reset, not from before it
            else:
                obs = next_obs
                self.pacer.wait()
        self.client.flush()

    def _reset(self, seed: int, should_stop: Callable[[], bool]) -> Any:
        """Reset the env while keeping the link to the learner alive: a robot's reset (moving home, an
        operator setting the scene) can take longer than the learner's heartbeat timeout. None when told
        to stop meanwhile (the reset thread is a daemon and does not hold the process up)."""
        outcome: dict[str, Any] = {}

        def reset() -> None:
            try:
                outcome["obs"] = self.env.reset(seed=seed)[0]
            except BaseException as err:  # re-raised in the actor's thread
                outcome["error"] = err

        thread = threading.Thread(target=reset, name="actor_reset", daemon=True)
        thread.start()
        thread.join(0.05)  # returns as soon as the reset is done (a simulated one: ~1 ms)
        while thread.is_alive():
            if should_stop():
                return None
            self._apply_weights(self.client.poll(0.0))
            thread.join(0.05)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["obs"]

    def _wait_for_learner(self, should_stop: Callable[[], bool]) -> None:
        while self.client.learner_alive and self.client.backlog > self.max_ahead_steps:
            if should_stop():
                return
            self._apply_weights(self.client.poll(0.01))

    def _apply_weights(self, data: bytes | None) -> None:
        if data is not None:
            self.agent.load_policy_state(load_weights(data))
            first_weights, self._has_weights = not self._has_weights, True
            (log.info if first_weights else log.debug)(
                "policy weights v%d loaded", self.client.weights_version
            )

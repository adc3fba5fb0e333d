"""Demonstrations (HDF5, robomimic layout) into a replay buffer for RLPD's offline half."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robot_rl.buffers import ReplayBuffer
from robot_rl.data.episodes import DatasetError, read_episodes
from robot_rl.obs import ObsSpec

log = logging.getLogger(__name__)


def load_demo_buffer(
    path: str | Path,
    make_buffer: Callable[[int], ReplayBuffer],
    spec: ObsSpec,
    *,
    action_dims: list[int] | None = None,
    num_demos: int | None = None,
    relabel: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
) -> ReplayBuffer:
    """Read every (or the first ``num_demos``) episode of ``path`` into a buffer sized to hold them.

    7-D demo actions are cut to ``action_dims`` when the policy controls fewer DoF. An episode that
    ended neither terminated nor truncated (the recording stopped) is stored as truncated.
    ``relabel(obs) -> extra keys`` adds observation keys the file does not hold (residual RL: the base
    policy's action on each demo state).
    """
    episodes = list(read_episodes(path))[:num_demos]
    if not episodes:
        raise DatasetError(f"{path} holds no complete episode; record demos with `robot-rl collect-demos`")
    keys = spec.state_keys + spec.image_keys
    added = set(relabel(_step(episodes[0].obs, 0))) if relabel else set()
    missing = [k for k in keys if k not in episodes[0].obs and k not in added]
    if missing:
        raise DatasetError(
            f"{path} lacks observation keys {missing} the learner needs "
            f"(file has {sorted(episodes[0].obs)}); "
            "record demos with the same task config (cameras, state_keys)"
        )
    buffer = make_buffer(sum(len(ep.actions) + 1 for ep in episodes) + 1)
    for ep in episodes:
        actions = np.asarray(ep.actions, dtype=np.float32)
        if action_dims is not None and actions.shape[1] != len(action_dims):
            actions = actions[:, list(action_dims)]
        steps = len(actions)
        frames = [_step(ep.obs, t) for t in range(steps + 1)]
        if relabel:
            frames = [{**frame, **relabel(frame)} for frame in frames]
        for t in range(steps):
            last = t == steps - 1
            buffer.add(
                {k: frames[t][k] for k in keys},
                actions[t],
                float(ep.rewards[t]),
                {k: frames[t + 1][k] for k in keys},
                bool(ep.terminated[t]),
                bool(ep.truncated[t]) or (last and not ep.terminated[t]),
            )
    log.info("loaded %d demo episodes (%d transitions) from %s", len(episodes), len(buffer), path)
    return buffer


def _step(obs: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    return {k: v[t] for k, v in obs.items()}

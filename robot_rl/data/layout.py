"""The on-disk episode format (HDF5, robomimic layout) and what reader and writer share.

Layout (robomimic's, plus the per-step flags robot_rl needs)::

    data/                     attrs: total (steps in all episodes), env_args (JSON of env_meta)
      demo_N/                 attrs: num_samples = T, written last (it marks the episode complete), ...
        obs/<key>             (T, ...) observation before each step; keys flattened: "state.tcp_pose"
        next_obs/<key>        (T, ...) observation after each step
        actions               (T, A)
        rewards               (T,)
        dones                 (T,) bool: terminated | truncated (robomimic's name; not read back)
        terminated            (T,) bool: a real terminal state; only this stops bootstrapping
        truncated             (T,) bool: a time limit (or other cut) ended the episode
        is_intervention       (T,) bool: a human chose this step's action
        <extra>               (T, ...) optional extras, e.g. robomimic's ``states``

Written by ``robot_rl.data.writer.EpisodeWriter``, read by ``robot_rl.data.episodes``.
Dtypes are kept: uint8 images stay uint8 (gzip level 4, one frame per chunk). The file is flushed after
every episode, so a crash loses at most the episode in progress; ``read_episodes`` skips an episode
without ``num_samples`` (its writer was killed) with a warning and reads the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SEP = "."  # joins nested observation keys: {"state": {"tcp_pose": x}} -> "state.tcp_pose"
FLAG_KEYS = ("terminated", "truncated", "is_intervention")
REQUIRED_KEYS = ("obs", "next_obs", "actions", "rewards", *FLAG_KEYS)
RESERVED_KEYS = frozenset((*REQUIRED_KEYS, "dones"))
IMAGE_GZIP_LEVEL = 4
DEMO_NAME = re.compile(r"demo_(\d+)")


class DatasetError(ValueError):
    """A user-fixable problem with an episode file; the message names the file, the cause and the fix."""


@dataclass(frozen=True, eq=False)
class Episode:
    """One episode of T steps read back from disk.

    ``obs[key]`` has T+1 rows: row t is the observation before step t, row T the final next observation.
    ``attrs`` holds the episode's attributes (e.g. ``success``, ``seed``) without ``num_samples``.
    """

    obs: dict[str, np.ndarray]  # flat key -> (T+1, ...)
    actions: np.ndarray  # (T, A)
    rewards: np.ndarray  # (T,)
    terminated: np.ndarray  # (T,) bool
    truncated: np.ndarray  # (T,) bool
    is_intervention: np.ndarray  # (T,) bool
    attrs: dict[str, Any]
    name: str  # "demo_N"
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (T, ...)

    def __len__(self) -> int:
        return len(self.actions)


def flatten_obs(obs: Mapping[str, Any] | np.ndarray) -> dict[str, np.ndarray]:
    """Nested Dict observation -> ``{"state.tcp_pose": array, ...}``; a plain array -> ``{"obs": array}``."""
    if not isinstance(obs, Mapping):
        return {"obs": np.asarray(obs)}
    flat: dict[str, np.ndarray] = {}

    def visit(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or SEP in key or "/" in key or not key:
                raise ValueError(
                    f"observation key {prefix}{key!r} must be a non-empty str without '.' or '/'"
                )
            if isinstance(value, Mapping):
                visit(value, f"{prefix}{key}{SEP}")
            else:
                flat[prefix + key] = np.asarray(value)

    visit(obs, "")
    return flat


def unflatten_obs(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten_obs`` for Dict observations (a plain-array obs stays ``{"obs": array}``)."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split(SEP)
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"flat key {name!r} conflicts with the array stored at {part!r}")
        if leaf in node:
            raise ValueError(f"flat key {name!r} conflicts with another key under {leaf!r}")
        node[leaf] = value
    return nested

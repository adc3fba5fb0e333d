"""Episodes on disk: HDF5 in the robomimic layout (``robot_rl.data.layout`` documents it).

``EpisodeWriter(path, env_meta)`` appends episodes and flushes after each one; ``read_episodes(path)``
yields the complete ones as ``Episode``s (skipping, with a warning, one whose writer was killed);
``read_env_meta(path)`` returns the env description. Every user-fixable problem with a file raises
``DatasetError`` naming the file, the cause and the fix. No ROS or simulator import here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robot_rl.data.layout import (
    DEMO_NAME,
    REQUIRED_KEYS,
    RESERVED_KEYS,
    DatasetError,
    Episode,
    flatten_obs,
    unflatten_obs,
)
from robot_rl.data.writer import EpisodeWriter

__all__ = [
    "DatasetError",
    "Episode",
    "EpisodeWriter",
    "flatten_obs",
    "read_env_meta",
    "read_episodes",
    "unflatten_obs",
]

log = logging.getLogger(__name__)


def _open(path: Path) -> h5py.File:
    """Open an episode file for reading, turning every user-fixable problem into a DatasetError."""
    if not path.exists():
        raise DatasetError(
            f"{path}: no such file; check the path, or record episodes (robot-rl collect-demos)"
        )
    if not path.is_file() or not h5py.is_hdf5(path):
        raise DatasetError(
            f"{path}: not an HDF5 file (corrupt, truncated or another format); "
            "pass an episode file written by robot_rl (robot-rl collect-demos) or re-record it"
        )
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path}: corrupt HDF5 file ({err}); re-record it or restore a copy") from None
    try:
        has_data = isinstance(file.get("data"), h5py.Group)
    except (OSError, KeyError) as err:
        file.close()
        raise DatasetError(f"{path}: corrupt HDF5 file ({err}); re-record it or restore a copy") from None
    if not has_data:
        file.close()
        raise DatasetError(
            f"{path}: has no 'data' group, so it holds no episodes in the robomimic layout; "
            "pass a file written by robot_rl's EpisodeWriter (robot-rl collect-demos)"
        )
    return file


def read_env_meta(path: str | Path) -> dict[str, Any]:
    """The ``env_meta`` the file was written with (``data`` attribute ``env_args``)."""
    path = Path(path)
    with _open(path) as file:
        raw = file["data"].attrs.get("env_args")
    if raw is None:
        raise DatasetError(f"{path}: 'data' has no env_args attribute; re-record the file with EpisodeWriter")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: env_args is not valid JSON ({err}); re-record the file") from None


def read_episodes(path: str | Path) -> Iterator[Episode]:
    """The file's complete episodes in demo-number order; incomplete ones are skipped with a warning.

    :raises DatasetError: at the call for a missing, non-HDF5 or ``data``-less file; while iterating
        for an episode that lacks a required dataset or whose lengths disagree.
    """
    path = Path(path)
    _open(path).close()  # fail here, not at the first next()
    return _iter_episodes(path)


def _iter_episodes(path: Path) -> Iterator[Episode]:
    with _open(path) as file:
        data = file["data"]
        try:
            names = sorted((int(m.group(1)), k) for k in data if (m := DEMO_NAME.fullmatch(k)))
        except OSError as err:
            raise DatasetError(f"{path}: cannot list episodes ({err}); the file is corrupt") from None
        for _, name in names:
            episode = _read_episode(data, name, path)
            if episode is not None:
                yield episode


def _read_episode(data: h5py.Group, name: str, path: Path) -> Episode | None:
    try:
        group = data[name]
        steps = group.attrs.get("num_samples")
    except (OSError, KeyError) as err:
        log.warning(
            "%s: skipping %s: unreadable (%s), probably damaged by an interrupted write", path, name, err
        )
        return None
    if steps is None:
        log.warning(
            "%s: skipping %s: no num_samples attribute, so its writer stopped mid-episode (crash or kill); "
            "the other episodes are intact",
            path,
            name,
        )
        return None
    steps = int(steps)
    try:
        missing = [key for key in REQUIRED_KEYS if key not in group]
        if missing:
            raise DatasetError(
                f"{path}: {name} is marked complete (num_samples={steps}) but lacks {missing}; "
                "the file was not written by robot_rl's EpisodeWriter or was edited; re-record it"
            )
        arrays = {key: group[key][()] for key in group if isinstance(group[key], h5py.Dataset)}
        obs = {key: group["obs"][key][()] for key in group["obs"]}
        next_obs = {key: group["next_obs"][key][()] for key in group["next_obs"]}
    except OSError as err:
        raise DatasetError(f"{path}: {name} is corrupt ({err}); re-record the file or drop {name}") from None
    if obs.keys() != next_obs.keys():
        raise DatasetError(
            f"{path}: {name} has obs keys {sorted(obs)} but next_obs keys {sorted(next_obs)}; re-record it"
        )
    lengths = {k: len(v) for k, v in arrays.items()}
    lengths |= {f"obs/{k}": len(v) for k, v in obs.items()} | {
        f"next_obs/{k}": len(v) for k, v in next_obs.items()
    }
    wrong = {k: n for k, n in lengths.items() if n != steps}
    if wrong:
        raise DatasetError(
            f"{path}: {name} has num_samples={steps} but datasets of other lengths {wrong}; "
            "the file was edited or is damaged; re-record it or drop this episode"
        )
    attrs = {
        k: v.item() if isinstance(v, np.generic) else v for k, v in group.attrs.items() if k != "num_samples"
    }
    return Episode(
        obs={k: np.concatenate([v, next_obs[k][-1:]]) for k, v in obs.items()},
        actions=arrays["actions"],
        rewards=arrays["rewards"],
        terminated=arrays["terminated"],
        truncated=arrays["truncated"],
        is_intervention=arrays["is_intervention"],
        attrs=attrs,
        name=name,
        extras={k: v for k, v in arrays.items() if k not in RESERVED_KEYS},
    )

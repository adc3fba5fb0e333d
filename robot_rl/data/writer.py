"""``EpisodeWriter``: appends episodes to an HDF5 file in the robomimic layout (``robot_rl.data.layout``).

Each episode is written in one go and the file is flushed after it, so a crash loses at most the
episode in progress. ``num_samples`` is set last; readers treat a group without it as incomplete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robot_rl.data.layout import (
    DEMO_NAME,
    FLAG_KEYS,
    IMAGE_GZIP_LEVEL,
    RESERVED_KEYS,
    DatasetError,
    flatten_obs,
)
from robot_rl.errors import ConfigError

IF_EXISTS = ("error", "append", "overwrite")  # a command's ``if_exists`` choices for its output file


def writer_mode(out: Path, if_exists: str) -> str:
    """The ``EpisodeWriter`` mode for a command writing ``out``, checked against its ``if_exists``."""
    if if_exists not in IF_EXISTS:
        raise ConfigError(f"if_exists={if_exists!r} is not one of {list(IF_EXISTS)}")
    if out.exists() and if_exists == "error":
        raise ConfigError(
            f"out={out} exists; pass if_exists=append to add episodes to it, "
            "if_exists=overwrite to replace it, or another out="
        )
    return "w" if if_exists == "overwrite" else "a"


def open_for_writing(path: Path, mode: str) -> h5py.File:
    """An HDF5 file opened to append (``"a"``) or overwrite (``"w"``), parent folders made; anything in
    the way is one ``DatasetError`` naming the file and the fix."""
    if mode not in ("a", "w"):
        raise ValueError(f"mode={mode!r} is not one of ['a', 'w'] (append, overwrite)")
    if mode == "a" and path.is_file() and not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: exists but is not HDF5; write to another path or delete it")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return h5py.File(path, mode)
    except OSError as err:
        raise DatasetError(
            f"{path}: cannot open for writing ({err}); another process may hold it, or it is corrupt"
        ) from None


class EpisodeWriter:
    """Appends episodes to an HDF5 file, flushing after each one.

    :param path: the file; parent folders are created.
    :param env_meta: JSON-serialisable description of the env, stored as ``data`` attribute ``env_args``.
    :param mode: ``"a"`` appends (numbering continues after the highest ``demo_N``), ``"w"`` overwrites.
    """

    def __init__(self, path: str | Path, env_meta: Mapping[str, Any], mode: str = "a") -> None:
        self.path = Path(path)
        try:
            env_args = json.dumps(dict(env_meta), sort_keys=True)
        except TypeError as err:
            raise ValueError(f"env_meta must be JSON-serialisable (lists, not arrays): {err}") from None
        self._file = open_for_writing(self.path, mode)
        try:
            self._data = self._init_data_group(env_args)
        except BaseException:
            self._file.close()
            raise

    def _init_data_group(self, env_args: str) -> h5py.Group:
        try:
            data = self._file.require_group("data")
            old = data.attrs.get("env_args")
            demos = {k: int(m.group(1)) for k in data if (m := DEMO_NAME.fullmatch(k))}
            # Incomplete episodes (no num_samples) count for numbering, not for the total.
            self._total = sum(int(data[k].attrs.get("num_samples", 0)) for k in demos)
        except (OSError, KeyError, TypeError) as err:
            raise DatasetError(f"{self.path}: unreadable 'data' group ({err}); use a new file") from None
        if demos and old is not None and json.loads(old) != json.loads(env_args):
            diff = "; ".join(_differences(json.loads(old), json.loads(env_args)))
            raise DatasetError(
                f"{self.path}: holds episodes of another env setup ({diff}); "
                "write to a new file, or overwrite it (mode='w')"
            )
        self._next = max(demos.values(), default=-1) + 1
        data.attrs["env_args"] = env_args
        data.attrs["total"] = self._total
        self._file.flush()
        return data

    def add_episode(
        self,
        obs: Sequence[Mapping[str, Any] | np.ndarray],
        actions: Any,
        rewards: Any,
        terminated: Any,
        truncated: Any,
        is_intervention: Any = None,
        extras: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> str:
        """Write one episode of T steps and flush; returns its group name ``demo_N``.

        :param obs: T+1 observations: the reset observation, then the one after each step.
        :param actions: (T, A) executed actions. ``rewards``, the flags: (T,). ``extras``: name -> (T, ...).
        :param attrs: scalar/str/array episode attributes, e.g. ``{"success": True, "seed": 3}``.
        :raises ValueError: inconsistent lengths, non-2-D actions, obs keys that change across steps.
        """
        stacked = _stack_obs(obs)
        steps = len(obs) - 1
        flags = {"terminated": terminated, "truncated": truncated, "is_intervention": is_intervention}
        arrays = _step_arrays(steps, {"actions": actions, "rewards": rewards, **flags}, extras or {})
        attrs = _check_attrs(attrs or {})
        for key, values in {**stacked, **arrays}.items():
            if values.dtype.kind not in "biufc":
                raise ValueError(f"{key} has dtype {values.dtype}; episodes hold numbers and bools only")
        name = f"demo_{self._next}"
        group = self._data.create_group(name)
        self._next += 1  # a write that fails below leaves an incomplete group that readers skip
        for key, values in stacked.items():
            _create_dataset(group, f"obs/{key}", values[:-1])
            _create_dataset(group, f"next_obs/{key}", values[1:])
        for key, values in arrays.items():
            _create_dataset(group, key, values)
        group.attrs.update(attrs)
        group.attrs["num_samples"] = steps  # last: marks the episode complete for read_episodes
        self._total += steps
        self._data.attrs["total"] = self._total
        self._file.flush()
        return name

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stack_obs(obs: Sequence[Mapping[str, Any] | np.ndarray]) -> dict[str, np.ndarray]:
    if len(obs) < 2:
        raise ValueError(f"obs has {len(obs)} entries; T >= 1 steps need T+1 (reset obs + one per step)")
    flats = [flatten_obs(o) for o in obs]
    if not flats[0]:
        raise ValueError("obs[0] holds no arrays")
    for i, flat in enumerate(flats):
        if flat.keys() != flats[0].keys():
            raise ValueError(
                f"obs[{i}] has keys {sorted(flat)} but obs[0] has {sorted(flats[0])}; "
                "every step needs the same observation keys"
            )
    stacked = {}
    for key in flats[0]:
        shapes = {f[key].shape for f in flats}
        if len(shapes) > 1:
            raise ValueError(f"obs key {key!r} changes shape across steps: {sorted(shapes)}")
        stacked[key] = np.stack([f[key] for f in flats])
    return stacked


def _step_arrays(steps: int, given: dict[str, Any], extras: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if given["is_intervention"] is None:
        given["is_intervention"] = np.zeros(steps, bool)
    arrays = {k: np.asarray(v, dtype=bool if k in FLAG_KEYS else None) for k, v in given.items()}
    if arrays["actions"].ndim != 2:
        raise ValueError(f"actions has shape {arrays['actions'].shape}; expected 2-D (T, action_dim)")
    for key, values in arrays.items():
        if values.ndim == 0 or len(values) != steps or (key != "actions" and values.ndim != 1):
            raise ValueError(
                f"{key} has shape {values.shape}; expected ({steps},) as obs holds T+1={steps + 1}"
            )
    arrays["dones"] = arrays["terminated"] | arrays["truncated"]
    for key, value in extras.items():
        values = np.asarray(value)
        if key in RESERVED_KEYS or "/" in key or key == "":
            raise ValueError(f"extras key {key!r} is reserved or invalid; reserved: {sorted(RESERVED_KEYS)}")
        if values.ndim == 0 or len(values) != steps:
            raise ValueError(
                f"extras[{key!r}] has shape {values.shape}; its first dimension must be T={steps}"
            )
        arrays[key] = values
    return arrays


def _check_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in attrs.items():
        if key == "num_samples":
            raise ValueError("attrs['num_samples'] is set by the writer; leave it out")
        if not isinstance(value, str | bool | int | float | np.generic | np.ndarray):
            raise ValueError(f"attrs[{key!r}]={value!r} must be a str, number, bool or numpy array")
    return dict(attrs)


def _create_dataset(group: h5py.Group, name: str, values: np.ndarray) -> h5py.Dataset:
    if values.dtype == np.uint8 and values.ndim >= 3:  # images: compress, one frame per chunk
        return group.create_dataset(
            name,
            data=values,
            chunks=(1, *values.shape[1:]),
            compression="gzip",
            compression_opts=IMAGE_GZIP_LEVEL,
        )
    return group.create_dataset(name, data=values)


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """``["task.action_scale: file [0.03, 0.15], now [0.02, 0.1]", ...]`` for two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [f"{prefix.rstrip('.')}: file {old}, now {new}"]

"""``FrameWriter``: appends labelled episodes to a labelled-frame file (layout in ``dataset.py``).

Every dataset is resizable along its first axis; an episode is appended to all of them, then
``num_frames`` is raised and the file flushed, so a crash loses at most the episode being written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robot_rl.data.layout import IMAGE_GZIP_LEVEL, DatasetError
from robot_rl.data.writer import open_for_writing
from robot_rl.rewards.dataset import FORMAT


class FrameWriter:
    """Appends episodes of labelled frames to ``path`` and flushes after each one.

    :param env_meta: JSON-serialisable description of the env (stored as ``env_args``).
    :param cameras: cameras to store, in this order; ``state_keys``: obs["state"] keys to store.
    :param mode: ``"a"`` appends to an existing file of the same setup, ``"w"`` overwrites.
    """

    def __init__(
        self,
        path: str | Path,
        env_meta: Mapping[str, Any],
        cameras: Sequence[str],
        image_size: int,
        state_keys: Sequence[str],
        mode: str = "a",
    ) -> None:
        self.path = Path(path)
        self.cameras, self.state_keys = list(cameras), list(state_keys)
        self.image_size = int(image_size)
        if not self.cameras:
            raise ValueError("a labelled-frame file needs at least one camera")
        setup = {
            "format": FORMAT,
            "env_args": json.dumps(dict(env_meta), sort_keys=True),
            "cameras": json.dumps(self.cameras),
            "image_size": self.image_size,
            "state_keys": json.dumps(self.state_keys),
        }
        self._file = open_for_writing(self.path, mode)
        try:
            self._init(setup)
        except BaseException:
            self._file.close()
            raise

    def _init(self, setup: dict[str, Any]) -> None:
        file = self._file
        if "num_frames" in file.attrs:
            differ = [k for k, v in setup.items() if file.attrs.get(k) != v]
            if differ:
                raise DatasetError(
                    f"{self.path}: holds frames of another setup ({', '.join(differ)} differ); "
                    "write to a new file (out=...) or overwrite it (if_exists=overwrite)"
                )
            self._frames = int(file.attrs["num_frames"])
            self._episodes = int(file["episode"][self._frames - 1]) + 1 if self._frames else 0
            return
        size = self.image_size
        for camera in self.cameras:
            _create(file, f"images/{camera}", (size, size, 3), np.uint8, image=True)
        for key, dtype in (
            ("labels", bool),
            ("episode", np.int32),
            ("step", np.int32),
            ("episodes/seed", np.int64),
            ("episodes/policy", "S16"),
        ):
            _create(file, key, (), dtype)
        file.attrs.update(setup)
        file.attrs["num_frames"] = self._frames = 0
        self._episodes = 0
        file.flush()

    def add_episode(
        self,
        images: Mapping[str, np.ndarray],
        state: Mapping[str, np.ndarray],
        labels: np.ndarray | Sequence[bool],
        seed: int,
        policy: str,
    ) -> int:
        """Append one episode of T frames and flush; returns its episode index.

        :param images: camera -> (T, H, W, 3) uint8; ``state``: key -> (T, D); ``labels``: (T,) bool.
        """
        labels = np.asarray(labels, dtype=bool)
        t = len(labels)
        if t == 0:
            raise ValueError("an episode needs at least one frame")
        arrays = {f"images/{c}": np.asarray(images[c]) for c in self.cameras}
        arrays |= {f"state/{k}": np.asarray(state[k], np.float32).reshape(t, -1) for k in self.state_keys}
        arrays |= {
            "labels": labels,
            "episode": np.full(t, self._episodes, np.int32),
            "step": np.arange(t, dtype=np.int32),
        }
        for name, values in arrays.items():
            if len(values) != t:
                raise ValueError(f"{name} has {len(values)} frames but labels has {t}")
        size = (self.image_size, self.image_size, 3)
        for camera in self.cameras:
            frames = arrays[f"images/{camera}"]
            if frames.dtype != np.uint8 or frames.shape[1:] != size:
                raise ValueError(
                    f"images[{camera!r}] is {frames.dtype} {frames.shape[1:]}; expected uint8 {size}"
                )
        for key in self.state_keys:  # the first episode fixes each state key's width
            if f"state/{key}" not in self._file:
                _create(self._file, f"state/{key}", arrays[f"state/{key}"].shape[1:], np.float32)
        for name, values in arrays.items():
            _append(self._file[name], self._frames, values)
        _append(self._file["episodes/seed"], self._episodes, np.array([seed], np.int64))
        _append(self._file["episodes/policy"], self._episodes, np.array([policy.encode()], "S16"))
        self._frames += t
        self._episodes += 1
        self._file.attrs["num_frames"] = self._frames  # last: commits the episode
        self._file.flush()
        return self._episodes - 1

    @property
    def num_frames(self) -> int:
        return self._frames

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _create(file: h5py.File, name: str, shape: tuple, dtype: Any, image: bool = False) -> None:
    extra = {"compression": "gzip", "compression_opts": IMAGE_GZIP_LEVEL} if image else {}
    chunks = (1, *shape) if image else (max(1, 4096 // max(1, int(np.prod(shape)))), *shape)
    file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=chunks, **extra)


def _append(dataset: h5py.Dataset, start: int, values: np.ndarray) -> None:
    """Write ``values`` at rows ``start...``; rows past ``start`` left by a killed writer are overwritten."""
    dataset.resize(start + len(values), axis=0)
    dataset[start:] = values

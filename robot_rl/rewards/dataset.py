"""Labelled camera frames on disk (HDF5): what a reward classifier learns from, and the one reader.

Layout (one file per task; written by ``FrameWriter`` in ``dataset_writer.py``)::

    /                    attrs: format, env_args (JSON env_meta), cameras (JSON list), image_size,
                         state_keys (JSON list), num_frames (rows committed; set after each episode)
      images/<camera>    (N, H, W, 3) uint8 frames, gzip, one frame per chunk
      state/<key>        (N, D) float32 proprioception, obs["state"][key] (every key the env gave)
      labels             (N,) bool  the frame shows success
      episode            (N,) int32 index of the frame's episode (0 ... E-1)
      step               (N,) int32 frame index within its episode (0: the reset observation)
      episodes/seed      (E,) int64 reset seed of each episode
      episodes/policy    (E,) bytes how it was driven: expert, stall, noisy, random or device

Rows past ``num_frames`` belong to an episode whose writer was killed mid-write; the reader ignores
them (with a warning), so a crash loses at most that episode. Every problem a user can cause (missing,
corrupt, foreign or empty file) raises ``DatasetError`` naming the file and the fix.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robot_rl.data.layout import DatasetError

log = logging.getLogger(__name__)

FORMAT = "robot_rl.success_fail/1"
RECORD_HINT = "record one with `robot-rl record-success-fail`"


@dataclass(frozen=True, eq=False)
class FrameDataset:
    """N labelled frames read into memory (images stay uint8)."""

    images: dict[str, np.ndarray]  # camera -> (N, H, W, 3) uint8
    state: dict[str, np.ndarray]  # key -> (N, D) float32
    labels: np.ndarray  # (N,) bool
    episode: np.ndarray  # (N,) int32
    step: np.ndarray  # (N,) int32
    episode_seed: np.ndarray  # (E,) int64
    episode_policy: list[str]  # (E,)
    image_size: int
    env_meta: dict[str, Any]
    path: Path

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def cameras(self) -> list[str]:
        return list(self.images)

    def frame_groups(self) -> np.ndarray:
        """(N,) group id per frame for a train/validation split: episodes sharing a reset seed start
        from the same state (an expert run and its stalled twin share their first frames), so they
        must fall on the same side."""
        return self.episode_seed[self.episode]


def read_frames(path: str | Path) -> FrameDataset:
    """Read a labelled-frame file written by ``FrameWriter``.

    :raises DatasetError: missing, not HDF5, corrupt, not this format, or holding no frames.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; check dataset=, or {RECORD_HINT}")
    if not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: not an HDF5 file (corrupt, truncated or another format); {RECORD_HINT}")
    try:
        with h5py.File(path, "r") as file:
            return _read(file, path)
    except (OSError, KeyError, ValueError, TypeError) as err:
        if isinstance(err, DatasetError):
            raise
        raise DatasetError(
            f"{path}: corrupt labelled-frame file ({type(err).__name__}: {err}); re-record it "
            "or restore a copy"
        ) from None


def _read(file: h5py.File, path: Path) -> FrameDataset:
    if file.attrs.get("format") != FORMAT:
        raise DatasetError(
            f"{path}: not a labelled-frame file (format attribute {file.attrs.get('format')!r}, "
            f"expected {FORMAT!r}); episode files of collect-demos do not hold labels, {RECORD_HINT}"
        )
    n = int(file.attrs["num_frames"])
    if n == 0:
        raise DatasetError(
            f"{path}: holds no frames (its recorder stopped before one episode); {RECORD_HINT}"
        )
    cameras = json.loads(file.attrs["cameras"])
    state_keys = json.loads(file.attrs["state_keys"])
    stored = len(file["labels"])
    if stored > n:
        log.warning("%s: ignoring %d frames of an episode whose writer stopped mid-write", path, stored - n)
    if stored < n:
        raise ValueError(f"num_frames={n} but only {stored} labels are stored")
    episode = file["episode"][:n].astype(np.int32)
    num_episodes = int(episode.max()) + 1
    return FrameDataset(
        images={c: _rows(file[f"images/{c}"], n) for c in cameras},
        state={k: _rows(file[f"state/{k}"], n).astype(np.float32) for k in state_keys},
        labels=_rows(file["labels"], n).astype(bool),
        episode=episode,
        step=_rows(file["step"], n).astype(np.int32),
        episode_seed=_rows(file["episodes/seed"], num_episodes).astype(np.int64),
        episode_policy=[p.decode() for p in _rows(file["episodes/policy"], num_episodes)],
        image_size=int(file.attrs["image_size"]),
        env_meta=json.loads(file.attrs["env_args"]),
        path=path,
    )


def _rows(dataset: h5py.Dataset, n: int) -> np.ndarray:
    values = dataset[:n]
    if len(values) != n:
        raise ValueError(f"{dataset.name} holds {len(values)} rows, expected {n}")
    return values


def require_both_classes(data: FrameDataset) -> None:
    """A classifier needs success and failure frames; say which is missing and how to get it."""
    positives = int(data.labels.sum())
    if positives == 0 or positives == len(data):
        missing = "success" if positives == 0 else "failure"
        raise DatasetError(
            f"{data.path}: all {len(data)} frames are labelled {'failure' if positives == 0 else 'success'}; "
            f"a classifier needs {missing} frames too: record more episodes with a policy mix that "
            "reaches both (record-success-fail policies=[expert,stall,noisy]) or label them on the device"
        )

"""The one preprocessing step of a reward classifier, shared by training and run time.

Training batches (``train.make_batch``) and ``RewardClassifier.probability(obs)`` both call
``preprocess``, so the model sees exactly the frames it was trained on: the cameras in the order the
saved spec fixes, uint8 frames of the trained size (a different size is an error, never a silent
resize), proprioception normalised with the training set's statistics. Augmentation is not part of
it: the trainer shifts its batches afterwards (``networks.random_shift``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class InputSpec:
    """What the model reads; saved with the classifier and read back at run time."""

    cameras: tuple[str, ...]  # camera order of the model's encoders
    image_size: int  # square frame side [px]
    state_keys: tuple[str, ...] = ()  # obs["state"] keys, concatenated in this order (optional)
    state_mean: tuple[float, ...] = ()  # (S,) training-set mean of the concatenated state
    state_std: tuple[float, ...] = ()  # (S,) training-set std (floored, so a constant entry stays finite)

    @property
    def state_dim(self) -> int:
        return len(self.state_mean)


@dataclass(frozen=True, eq=False)
class ModelInput:
    """A batch as the model takes it."""

    images: dict[str, torch.Tensor]  # camera -> (B, H, W, 3) float32 in [0, 255]
    state: torch.Tensor  # (B, S) float32, normalised; S = 0 without proprioception


def preprocess(
    spec: InputSpec, images: Mapping[str, np.ndarray], state: Mapping[str, np.ndarray] | None = None
) -> ModelInput:
    """A batch of frames -> the model's input.

    :param images: camera -> (B, H, W, 3) uint8; extra cameras are ignored.
    :param state: key -> (B, D) (or (B,) for D = 1); needed only when ``spec.state_keys`` is set.
    :raises ValueError: a camera or state key is missing, or a frame has another size or dtype.
    """
    missing = [c for c in spec.cameras if c not in images]
    if missing:
        raise ValueError(
            f"reward classifier needs cameras {list(spec.cameras)}; missing {missing} "
            f"(got {sorted(images)}); set task.images=true and task.cameras"
        )
    size = (spec.image_size, spec.image_size, 3)
    tensors = {}
    for camera in spec.cameras:
        frames = np.asarray(images[camera])
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != size:
            raise ValueError(
                f"camera {camera!r} gives {frames.dtype} frames of shape {frames.shape[1:]}; the classifier "
                f"was trained on uint8 {size}: set task.image_size={spec.image_size}"
            )
        tensors[camera] = torch.from_numpy(frames).float()
    batch = len(tensors[spec.cameras[0]])
    return ModelInput(images=tensors, state=_state(spec, state or {}, batch))


def _state(spec: InputSpec, state: Mapping[str, np.ndarray], batch: int) -> torch.Tensor:
    if not spec.state_keys:
        return torch.zeros(batch, 0)
    missing = [k for k in spec.state_keys if k not in state]
    if missing:
        raise ValueError(f"reward classifier needs obs['state'] keys {missing} (got {sorted(state)})")
    parts = [np.asarray(state[k], np.float32).reshape(batch, -1) for k in spec.state_keys]
    values = np.concatenate(parts, axis=1)
    if values.shape[1] != spec.state_dim:
        raise ValueError(
            f"state keys {list(spec.state_keys)} give {values.shape[1]} values; trained on {spec.state_dim}"
        )
    mean, std = np.asarray(spec.state_mean, np.float32), np.asarray(spec.state_std, np.float32)
    return torch.from_numpy((values - mean) / std)


def state_statistics(state: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> tuple[tuple, tuple]:
    """Mean and std of the concatenated ``keys`` of (N, D) arrays, the std floored at 1e-3."""
    if not keys:
        return (), ()
    values = np.concatenate(
        [np.asarray(state[k], np.float64).reshape(len(state[k]), -1) for k in keys], axis=1
    )
    mean, std = values.mean(0), np.maximum(values.std(0), 1e-3)
    return tuple(float(x) for x in mean), tuple(float(x) for x in std)

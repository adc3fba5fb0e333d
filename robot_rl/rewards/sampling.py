"""Which frames a classifier trains and validates on: a split by episode, and balanced batches.

Frames of one episode are nearly copies of each other, so a split by frame would validate on frames
the model has all but seen; the split is by episode group instead (``FrameDataset.frame_groups``).
Success frames are usually the minority, so every training batch draws half its frames from each
class (with replacement): the loss weighs both classes equally whatever the dataset's ratio.
"""

from __future__ import annotations

import numpy as np
import torch

from robot_rl.data.layout import DatasetError


def split_by_group(
    groups: np.ndarray, labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices (train, validation), whole groups on one side.

    Groups with and without success frames are split separately (stratified), each giving
    ``round(val_fraction * n)`` groups to validation, at least one and never all of them.

    :param groups: (N,) group id per frame; ``labels``: (N,) bool.
    :raises DatasetError: when a side would lack success or failure frames (too few episodes).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction} must be in (0, 1)")
    rng = np.random.default_rng(seed)
    ids = np.unique(groups)
    has_success = np.array([labels[groups == g].any() for g in ids])
    val_ids: list[np.ndarray] = []
    for stratum in (ids[has_success], ids[~has_success]):
        if len(stratum) >= 2:
            n_val = min(max(1, round(val_fraction * len(stratum))), len(stratum) - 1)
            val_ids.append(rng.permutation(stratum)[:n_val])
    is_val = np.isin(groups, np.concatenate(val_ids)) if val_ids else np.zeros(len(groups), bool)
    train, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    for name, side in (("training", train), ("validation", val)):
        if not labels[side].any() or labels[side].all():
            raise DatasetError(
                f"the {name} split of {len(ids)} episode groups has no "
                f"{'success' if not labels[side].any() else 'failure'} frames; record more episodes "
                "(at least two with success frames and a few without)"
            )
    return train, val


class BalancedSampler:
    """Batches of frame indices, half success and half failure (with replacement)."""

    def __init__(self, indices: np.ndarray, labels: np.ndarray, generator: torch.Generator) -> None:
        self.positives = torch.as_tensor(indices[labels[indices]])
        self.negatives = torch.as_tensor(indices[~labels[indices]])
        if len(self.positives) == 0 or len(self.negatives) == 0:
            raise ValueError("balanced batches need both success and failure frames")
        self.generator = generator

    def sample(self, batch_size: int) -> np.ndarray:
        """(batch_size,) indices: the first half success frames, the rest failure frames."""
        n_pos = batch_size // 2
        pos = torch.randint(len(self.positives), (n_pos,), generator=self.generator)
        neg = torch.randint(len(self.negatives), (batch_size - n_pos,), generator=self.generator)
        return torch.cat([self.positives[pos], self.negatives[neg]]).numpy()

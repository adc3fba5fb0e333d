"""Training a success classifier: BCE on balanced, randomly shifted batches; early stopping on the
validation loss; the threshold chosen on the validation frames for a target precision.

``train_classifier(data, cfg, model_cfg)`` reads top to bottom: split by episode group -> input spec
(cameras, state statistics of the training frames) -> epochs of balanced batches -> validation after
each epoch, keeping the best weights -> threshold on the validation probabilities.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robot_rl.errors import ConfigError
from robot_rl.networks import random_shift
from robot_rl.rewards.classifier import RewardClassifier
from robot_rl.rewards.dataset import FrameDataset, require_both_classes
from robot_rl.rewards.model import ModelConfig, SuccessClassifier
from robot_rl.rewards.preprocess import InputSpec, ModelInput, preprocess, state_statistics
from robot_rl.rewards.sampling import BalancedSampler, split_by_group
from robot_rl.rewards.threshold import ThresholdChoice, choose_threshold

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 8  # passes of len(train frames) / batch_size balanced batches each
    batch_size: int = 64  # half success, half failure frames
    lr: float = 3e-4  # AdamW learning rate at the start
    cosine_lr: bool = True  # decay the learning rate to 0 over the epochs (a cosine), for a steadier end
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    shift_pad: int = 4  # DrQ random shift [px] per camera (0: no augmentation)
    val_fraction: float = 0.2  # share of episode groups held out for validation and the threshold
    patience: int = 0  # stop after this many epochs without a lower validation loss (0: never)
    target_precision: float = 0.99  # the threshold is the lowest one reaching this validation precision
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"epochs={self.epochs} must be >= 1 and batch_size={self.batch_size} >= 2")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction={self.val_fraction} must be in (0, 1)")
        if not 0.0 < self.target_precision <= 1.0:
            raise ValueError(f"target_precision={self.target_precision} must be in (0, 1]")


@dataclass
class TrainResult:
    classifier: RewardClassifier  # best weights, threshold set
    choice: ThresholdChoice  # threshold with its validation precision and recall
    train_idx: np.ndarray  # frame indices of each split
    val_idx: np.ndarray
    val_probs: np.ndarray  # (len(val_idx),) probabilities of the validation frames
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: train/loss, val/loss


def make_batch(data: FrameDataset, idx: np.ndarray, spec: InputSpec) -> ModelInput:
    """The frames ``idx`` as model input, through the same ``preprocess`` as run time (no augmentation)."""
    return preprocess(
        spec, {c: data.images[c][idx] for c in spec.cameras}, {k: data.state[k][idx] for k in spec.state_keys}
    )


def augment(batch: ModelInput, pad: int, generator: torch.Generator) -> ModelInput:
    """DrQ random shift, drawn independently per camera and frame."""
    if pad <= 0:
        return batch
    images = {c: random_shift(x, pad, generator) for c, x in batch.images.items()}
    return ModelInput(images=images, state=batch.state)


def train_classifier(
    data: FrameDataset,
    cfg: TrainConfig,
    model_cfg: ModelConfig,
    cameras: list[str] | None = None,
    state_keys: list[str] | None = None,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train on ``data`` and choose the threshold; ``progress(batches_done, batches, metrics)`` after each
    batch (``batches``: the total without early stopping).

    :param cameras: cameras the model reads, in order (None: every camera of the dataset).
    :param state_keys: obs["state"] keys the model reads besides the images (None or []: images only).
    """
    require_both_classes(data)
    cameras = list(cameras or data.cameras)
    unknown = [c for c in cameras if c not in data.images] + [
        k for k in state_keys or [] if k not in data.state
    ]
    if unknown:
        raise ConfigError(
            f"{unknown} not in {data.path}: it has cameras {data.cameras} and state keys "
            f"{sorted(data.state)}; set cameras= and state_keys= from those"
        )
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    train_idx, val_idx = split_by_group(data.frame_groups(), data.labels, cfg.val_fraction, cfg.seed)
    keys = tuple(state_keys or ())
    mean, std = state_statistics({k: data.state[k][train_idx] for k in keys}, keys)
    spec = InputSpec(tuple(cameras), data.image_size, keys, mean, std)
    model = SuccessClassifier(spec, model_cfg)
    steps = math.ceil(len(train_idx) / cfg.batch_size)  # batches per epoch
    total = cfg.epochs * steps
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda i: 0.5 * (1 + math.cos(math.pi * i / total)) if cfg.cosine_lr else 1.0
    )
    sampler = BalancedSampler(train_idx, data.labels, generator)
    labels = torch.as_tensor(data.labels, dtype=torch.float32)
    classifier = RewardClassifier(model, spec, model_cfg)
    log.info(
        "training on %d frames, validating on %d (%d/%d success); %d epochs of %d batches",
        len(train_idx),
        len(val_idx),
        int(data.labels[val_idx].sum()),
        len(val_idx),
        cfg.epochs,
        steps,
    )

    best_loss, best_state, stale, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    for epoch in range(cfg.epochs):
        model.train()
        losses = []
        for step in range(steps):
            idx = sampler.sample(cfg.batch_size)
            logits = model(augment(make_batch(data, idx, spec), cfg.shift_pad, generator))
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            schedule.step()
            losses.append(loss.item())
            if progress is not None:
                progress(
                    epoch * steps + step + 1,
                    total,
                    {"epoch": epoch + 1, "train/loss": losses[-1]},
                )
        val_probs = _probabilities(classifier, data, val_idx)
        val_loss = _bce(val_probs, data.labels[val_idx])
        history.append({"epoch": epoch + 1, "train/loss": float(np.mean(losses)), "val/loss": val_loss})
        log.info("epoch %d: train/loss %.4f val/loss %.4f", epoch + 1, history[-1]["train/loss"], val_loss)
        if val_loss < best_loss:
            best_loss, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if cfg.patience and stale >= cfg.patience:
                log.info(
                    "early stop after epoch %d: val/loss has not improved for %d epochs", epoch + 1, stale
                )
                break

    model.load_state_dict(best_state)
    val_probs = _probabilities(classifier, data, val_idx)
    choice = choose_threshold(val_probs, data.labels[val_idx], cfg.target_precision)
    classifier.threshold = choice.threshold
    return TrainResult(classifier, choice, train_idx, val_idx, val_probs, history)


def _probabilities(classifier: RewardClassifier, data: FrameDataset, idx: np.ndarray) -> np.ndarray:
    return classifier.probabilities(
        {c: data.images[c][idx] for c in classifier.spec.cameras},
        {k: data.state[k][idx] for k in classifier.spec.state_keys},
    )


def _bce(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean BCE of probabilities on the natural (unbalanced) class mix of the validation frames."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(np.where(labels, np.log(p), np.log1p(-p))))

"""Trains a success classifier on labelled frames (from `robot-rl record-success-fail`) and picks its
decision threshold, so that it can serve as the task's reward (docs/rewards.md).

  robot-rl train-classifier                                   # data/success_fail_pick_cube.hdf5
  robot-rl train-classifier dataset=data/sf.hdf5 out=runs/clf cameras=[wrist] train.epochs=5
  robot-rl train-classifier eval_dataset=data/sf_test.hdf5    # also measure on frames of other seeds

Whole episode groups (episodes sharing a reset seed) are held out for validation (train.val_fraction).
The network (a DrQ CNN per camera, optional obs["state"] keys, an MLP head) trains with BCE on batches
that are half success, half failure, randomly shifted; the epoch with the lowest validation loss is
kept. The threshold is the lowest probability at which the validation precision reaches
train.target_precision; precision and recall there are printed and saved.

`out` receives classifier.safetensors + classifier.json (load with
robot_rl.rewards.RewardClassifier.load(out)), pr_curve.png, and false_positives/: the validation frames
wrongly called success, cameras side by side, named p<probability>_ep<episode>_step<step>.png
(eval_false_positives/ likewise for eval_dataset).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from robot_rl.config import to_dataclass
from robot_rl.data.layout import DatasetError
from robot_rl.rewards.classifier import RewardClassifier
from robot_rl.rewards.dataset import FrameDataset, read_frames
from robot_rl.rewards.model import ModelConfig
from robot_rl.rewards.report import dump_frames, plot_pr_curve
from robot_rl.rewards.threshold import precision_recall_at
from robot_rl.rewards.train import TrainConfig, TrainResult, train_classifier

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> int:
    train_cfg: TrainConfig = to_dataclass(TrainConfig, cfg.train, "train")
    model_cfg: ModelConfig = to_dataclass(ModelConfig, cfg.model, "model")
    data = read_frames(str(cfg.dataset))
    held_out = read_frames(str(cfg.eval_dataset)) if cfg.eval_dataset else None
    if held_out is not None:
        check_held_out(data, held_out)  # before training, not after
    cameras = list(cfg.cameras) if cfg.cameras else data.cameras
    state_keys = [str(k) for k in cfg.state_keys or []]
    out = Path(str(cfg.out))
    result = _train(data, train_cfg, model_cfg, cameras, state_keys)
    choice, clf = result.choice, result.classifier
    val_labels = data.labels[result.val_idx]
    clf.meta = {
        "dataset": str(data.path),
        "task": data.env_meta.get("task", {}).get("name"),
        "target_precision": train_cfg.target_precision,
        "target_reached": choice.reached,
        "validation": {
            "precision": choice.precision,
            "recall": choice.recall,
            "frames": len(val_labels),
            "success_frames": int(val_labels.sum()),
        },
        "train": asdict(train_cfg),
        "train_frames": len(result.train_idx),
        "history": result.history,
    }
    clf.save(out)
    curve = plot_pr_curve(
        out / "pr_curve.png",
        result.val_probs,
        val_labels,
        choice,
        train_cfg.target_precision,
        f"{data.path.name}: validation ({len(val_labels)} frames)",
    )
    wrong = (result.val_probs >= choice.threshold) & ~val_labels
    false_pos = result.val_idx[wrong]
    dumped = dump_frames(
        out / "false_positives", data, false_pos, result.val_probs[wrong], cameras, int(cfg.max_dump)
    )

    inputs = ", ".join([*cameras, *state_keys])
    print(f"reward classifier: {out} ({inputs}; {data.image_size} px; {len(result.history)} epochs)")
    print(
        f"validation: {len(val_labels)} frames ({int(val_labels.sum())} success) of "
        f"{len(np.unique(data.frame_groups()[result.val_idx]))} held-out episode groups"
    )
    print(
        f"threshold {choice.threshold:.4f}: precision {choice.precision:.4f}, recall {choice.recall:.4f} "
        f"(target precision {train_cfg.target_precision})"
    )
    if not choice.reached:
        print(
            f"warning: no threshold reaches precision {train_cfg.target_precision} on validation; the most "
            "precise one was chosen. Record more (or harder) data, or train longer"
        )
    print(f"precision-recall curve: {curve}")
    print(f"false positives: {len(false_pos)} frames, {len(dumped)} written to {out / 'false_positives'}")
    if held_out is not None:
        _evaluate(held_out, clf, out, int(cfg.max_dump))
    return 0


def _train(
    data: FrameDataset,
    train_cfg: TrainConfig,
    model_cfg: ModelConfig,
    cameras: list[str],
    state_keys: list[str],
) -> TrainResult:
    log.info("config: %s", OmegaConf.to_yaml(OmegaConf.structured(train_cfg)).replace("\n", "; "))
    bar: tqdm | None = None  # opened at the first batch, after every check of the data passed

    def progress(done: int, total: int, metrics: dict[str, float]) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="train-classifier", unit="batch", mininterval=1.0)
        bar.update(done - bar.n)
        bar.set_postfix(epoch=int(metrics["epoch"]), loss=f"{metrics['train/loss']:.4f}", refresh=False)

    try:
        return train_classifier(data, train_cfg, model_cfg, cameras, state_keys, progress)
    finally:
        if bar is not None:
            bar.close()


def check_held_out(train: FrameDataset, held_out: FrameDataset) -> None:
    """A simulated recording replays its seeds exactly: an eval set sharing them would score training data."""

    def simulated_seeds(data: FrameDataset) -> set[int]:  # an operator's episodes never repeat
        return {int(s) for s, p in zip(data.episode_seed, data.episode_policy, strict=True) if p != "device"}

    shared = sorted(simulated_seeds(train) & simulated_seeds(held_out))
    if shared:
        raise DatasetError(
            f"{held_out.path} replays {len(shared)} reset seeds of {train.path} (e.g. {shared[:5]}): its "
            "frames are training frames. Record the evaluation set from other seeds "
            "(robot-rl record-success-fail seed=1000 ...)"
        )


def _evaluate(data: FrameDataset, clf: RewardClassifier, out: Path, max_dump: int) -> None:
    """Precision and recall at the chosen threshold on frames of another recording (other seeds)."""
    try:
        probs = clf.probabilities(data.images, data.state)
    except ValueError as err:
        raise DatasetError(f"{data.path}: does not fit the classifier: {err}") from None
    precision, recall = precision_recall_at(probs, data.labels, clf.threshold)
    wrong = (probs >= clf.threshold) & ~data.labels
    dumped = dump_frames(
        out / "eval_false_positives",
        data,
        np.flatnonzero(wrong),
        probs[wrong],
        list(clf.spec.cameras),
        max_dump,
    )
    clf.meta["evaluation"] = {
        "dataset": str(data.path),
        "precision": precision,
        "recall": recall,
        "frames": len(data),
        "success_frames": int(data.labels.sum()),
    }
    clf.save(out)
    print(
        f"evaluation on {data.path} ({len(data)} frames, {int(data.labels.sum())} success): "
        f"precision {precision:.4f}, recall {recall:.4f} at threshold {clf.threshold:.4f}"
    )
    print(
        f"evaluation false positives: {int(wrong.sum())} frames, {len(dumped)} written to "
        f"{out / 'eval_false_positives'}"
    )

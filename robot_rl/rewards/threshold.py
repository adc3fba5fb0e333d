"""Precision-recall curves and the decision threshold for a target precision (pure numpy).

A frame counts as success when its probability is >= the threshold. As a reward, a false positive
pays the agent for failing (it will learn to exploit it), a false negative only withholds a reward; so
the threshold is the *lowest* one whose precision on held-out frames reaches the target, which is the
one with the highest recall among those that reach it (recall only falls as the threshold rises).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PRCurve:
    """Precision and recall at every distinct score, highest threshold first."""

    thresholds: np.ndarray  # (K,) distinct scores, descending
    precision: np.ndarray  # (K,) TP / (TP + FP) when predicting success for score >= threshold
    recall: np.ndarray  # (K,) TP / positives


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float  # at the threshold, on the frames it was chosen on
    recall: float
    reached: bool  # precision >= the target; if no threshold reaches it, the most precise one is chosen


def precision_recall_curve(scores: np.ndarray, labels: np.ndarray) -> PRCurve:
    """:param scores: (N,) probabilities; ``labels``: (N,) bool, at least one True."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be equal-length vectors")
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("precision and recall need at least one positive label")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    true_pos = np.cumsum(sorted_labels)
    # Frames with equal scores are predicted together: keep the last index of each run of equal scores.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    return PRCurve(
        thresholds=sorted_scores[last],
        precision=true_pos[last] / (last + 1),
        recall=true_pos[last] / positives,
    )


def choose_threshold(scores: np.ndarray, labels: np.ndarray, target_precision: float) -> ThresholdChoice:
    """The lowest threshold whose precision is >= ``target_precision`` (see the module docstring)."""
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target_precision={target_precision} must be in (0, 1]")
    curve = precision_recall_curve(scores, labels)
    reaching = np.flatnonzero(curve.precision >= target_precision)
    if reaching.size:
        i = int(reaching[-1])  # thresholds descend, so the last one reaching the target is the lowest
    else:  # the most precise threshold, the lowest among ties
        i = int(np.flatnonzero(curve.precision == curve.precision.max())[-1])
    return ThresholdChoice(
        threshold=float(curve.thresholds[i]),
        precision=float(curve.precision[i]),
        recall=float(curve.recall[i]),
        reached=bool(reaching.size),
    )


def precision_recall_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """(precision, recall) when predicting success for ``scores >= threshold``.

    Precision is 1.0 when nothing is predicted (no false positive); recall is nan without positives.
    """
    predicted = np.asarray(scores) >= threshold
    labels = np.asarray(labels, bool)
    true_pos = int((predicted & labels).sum())
    precision = true_pos / int(predicted.sum()) if predicted.any() else 1.0
    recall = true_pos / int(labels.sum()) if labels.any() else float("nan")
    return precision, recall

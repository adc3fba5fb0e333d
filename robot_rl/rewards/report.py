"""What a person looks at after training: the precision-recall curve and the false positives as PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.rewards.dataset import FrameDataset
from robot_rl.rewards.threshold import ThresholdChoice, precision_recall_curve


def plot_pr_curve(
    path: str | Path,
    probs: np.ndarray,
    labels: np.ndarray,
    choice: ThresholdChoice,
    target_precision: float,
    title: str,
) -> Path:
    """Precision against recall over every threshold, with the target and the chosen point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = precision_recall_curve(probs, labels)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.step(np.r_[0.0, curve.recall], np.r_[1.0, curve.precision], where="pre", label="validation")
    ax.axhline(
        target_precision, color="grey", linestyle="--", linewidth=1, label=f"target {target_precision}"
    )
    ax.plot(
        [choice.recall],
        [choice.precision],
        "o",
        color="C3",
        label=f"threshold {choice.threshold:.3f}: P {choice.precision:.3f}, R {choice.recall:.3f}",
    )
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0, 1.02),
        ylim=(max(0.0, curve.precision.min() - 0.05), 1.01),
    )
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def dump_frames(
    folder: str | Path, data: FrameDataset, idx: np.ndarray, probs: np.ndarray, cameras: list[str], limit: int
) -> list[Path]:
    """Write frames ``idx`` (cameras side by side) as PNGs, most confident first, at most ``limit``.

    Names read ``p0.973_ep12_step31.png``: the probability, the frame's episode and step in ``data``.
    Old PNGs in ``folder`` are removed first, so the folder shows one run only.
    """
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    written = []
    for i in np.argsort(-probs, kind="stable")[:limit]:
        frame = idx[i]
        image = np.concatenate([data.images[c][frame] for c in cameras], axis=1)
        path = folder / f"p{probs[i]:.3f}_ep{data.episode[frame]}_step{data.step[frame]}.png"
        plt.imsave(path, image)
        written.append(path)
    return written

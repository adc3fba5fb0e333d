"""One ``MetricLogger`` for scalars (TensorBoard + a CSV of evaluations) and the learning-curve PNG.

Metric names are slash-namespaced and listed in docs/metrics.md (``train/critic_loss``,
``rollout/return``, ``eval/success_rate``, ``time/sps`` ...).
"""

from __future__ import annotations

import csv
from pathlib import Path


class MetricLogger:
    def __init__(self, run_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        self.writer.close()


def write_eval_csv(path: str | Path, history: list[dict[str, float]]) -> Path:
    path = Path(path)
    if history:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
    return path


def plot_learning_curve(path: str | Path, history: list[dict[str, float]], title: str) -> Path:
    """Success rate (and mean return) of the periodic evaluations against env steps, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    steps = [h["env_steps"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(steps, [100 * h["success_rate"] for h in history], marker="o", label="success rate [%]")
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation success [%]")
    ax.set_ylim(-5, 105)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

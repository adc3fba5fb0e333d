"""What the training benchmarks share: run a robot-rl command to a log, read a run's evaluation curve."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROBOT_RL = str(Path(sys.executable).parent / "robot-rl")


def runs_parser(
    doc: str, name: str, steps: int, eval_every: int, modes: list[str]
) -> argparse.ArgumentParser:
    """The options every multi-run training benchmark takes (its own are added by the caller)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / name)
    parser.add_argument("--steps", type=int, default=steps, help="env steps per run")
    parser.add_argument("--eval-every", type=int, default=eval_every)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (one torch thread each)")
    parser.add_argument("--modes", nargs="+", default=modes, choices=modes)
    return parser


def sh(args: list[str], log: Path) -> None:
    env = {**os.environ, "MUJOCO_GL": "egl"}
    with open(log, "w") as out:
        subprocess.run(args, check=True, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)


def curve(run: Path) -> list[tuple[int, float]]:
    """``[(env_steps, success_rate), ...]`` of a run's periodic evaluations (its eval.csv)."""
    with open(run / "eval.csv") as f:
        return [(int(r["env_steps"]), float(r["success_rate"])) for r in csv.DictReader(f)]


def first_at(points: list[tuple[int, float]], level: float) -> int | None:
    return next((s for s, r in points if r >= level), None)


def holds_from(points: list[tuple[int, float]], level: float, window: int = 3) -> int | None:
    """The first step at which the mean of the last ``window`` evaluations is >= ``level``: reaching a
    level and staying near it, where ``first_at`` also counts a single lucky evaluation."""
    for end in range(window, len(points) + 1):
        if sum(r for _, r in points[end - window : end]) / window >= level:
            return points[end - 1][0]
    return None


def train_runs(jobs: list[tuple[str, int, Path, list[str]]], out: Path, parallel: int, tag: str) -> list:
    """Run ``(name, seed, run_dir, command)`` jobs, ``parallel`` at a time; a finished run (its
    summary.json exists) is not repeated, unless it ran for another number of env steps than the command
    asks (an error). Returns ``(name, seed, run_dir, seconds)`` per job."""

    def go(job: tuple[str, int, Path, list[str]]) -> tuple[str, int, Path, float]:
        name, seed, run, cmd = job
        if (run / "summary.json").exists():
            summary = json.loads((run / "summary.json").read_text())
            asked = [a.split("=", 1)[1] for a in cmd if a.startswith("train.total_env_steps=")]
            if asked and int(asked[0]) != summary["env_steps"]:
                raise SystemExit(
                    f"{run} is a finished run of {summary['env_steps']} env steps, not {asked[0]}: "
                    f"delete it (or pass another --out) to run it again"
                )
            return name, seed, run, summary["wall_time_s"]
        t0 = time.time()
        sh(cmd, out / f"{name}_seed{seed}.log")
        print(f"[{tag}] {name} seed {seed} done in {(time.time() - t0) / 60:.1f} min", file=sys.stderr)
        return name, seed, run, time.time() - t0

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(go, jobs))


def scalars(run: Path, tag: str) -> list[tuple[int, float]]:
    """A TensorBoard scalar of a run as ``[(step, value), ...]``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)] if tag in events.Tags()["scalars"] else []


def binned(points: list[tuple[int, float]], width: int) -> list[tuple[int, float]]:
    """Means of ``points`` over bins of ``width`` steps, keyed by each bin's end."""
    bins: dict[int, list[float]] = {}
    for step, value in points:
        bins.setdefault((step // width + 1) * width, []).append(value)
    return [(end, sum(v) / len(v)) for end, v in sorted(bins.items())]

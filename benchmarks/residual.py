"""Residual RL on a BC base vs RLPD from scratch on PandaPegInsert (state observations, sparse reward).

Run from the repository root with the project venv (two runs at a time; residual and rlpd on five seeds
took 1.5 h here, rlpd_pure adds about as long as rlpd)::

    .venv/bin/python benchmarks/residual.py --learners residual rlpd --out benchmarks/results/residual

1. ``--demos`` scripted-expert demos are recorded once (``robot-rl collect-demos``, seed 0).
2. A BC base is trained on them (``robot-rl train-bc``) and its success rate measured over 50 episodes.
3. For each seed and learner in ``LEARNERS``: ``robot-rl train agent=residual agent.base_policy=<bc>``,
   ``robot-rl train`` (the project's RLPD learner) and ``robot-rl train agent.bc_weight=0`` (textbook
   RLPD), all on the same demos (the offline half of each batch), state keys, n-step and UTD, evaluated
   every ``--eval-every`` steps over 40 episodes. Finished runs are not repeated.

Writes ``results.json`` (per run: the curve, the first step at >= 90%, the step from which it holds 90% (the
mean of three evaluations in a row), final and best success; each learner's curve averaged over the seeds,
with the same two steps, and its median seed's first step at >= 90%) and ``curves.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import REPO, ROBOT_RL, curve, first_at, holds_from, sh, train_runs

#: The learner sees the TCP, the hole and the peg tip (not the noisy contact wrench; see docs/benchmarks.md).
STATE_KEYS = "task.state_keys=[state.tcp_pose,privileged.hole_pos,privileged.peg_tip_pos]"
COMMON = [STATE_KEYS, "train.eval_episodes=40", "train.video_episodes=0", "train.torch_threads=1",
          "train.n_step=3", "train.utd_ratio=2"]  # fmt: skip
#: learner -> its settings: residual RL with a per-axis bound (the shipped 0.3 in x and y, 0.6 in z: the BC
#: base descends too fast when it is off the hole and the force shield's retreats then loop; see
#: docs/benchmarks.md), the project's RLPD learner as shipped (SAC + a BC term on demo samples,
#: agent.bc_weight=2), and textbook RLPD without that term.
LEARNERS = {"residual": ["agent=residual", "agent.residual_scale=[0.3,0.3,0.6]"], "rlpd": [],
            "rlpd_pure": ["agent.bc_weight=0"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "residual")
    parser.add_argument("--demos", type=int, default=10, help="scripted demos for BC and as offline data")
    parser.add_argument("--steps", type=int, default=24_000, help="env steps per run")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (one torch thread each)")
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS))
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    demos = out / "demos.hdf5"
    if not demos.exists():
        sh(
            [ROBOT_RL, "collect-demos", "task=peg_insert", f"n={args.demos}", f"out={demos}", "seed=0"],
            out / "demos.log",
        )
    bc = out / "bc"
    if not (bc / "policy.json").exists():
        sh([ROBOT_RL, "train-bc", "task=peg_insert", STATE_KEYS, f"demos={demos}", f"num_demos={args.demos}",
            f"out={bc}", "eval_episodes=50"], out / "bc.log")  # fmt: skip
    bc_success = json.loads((bc / "policy.json").read_text())["success_rate"]
    print(f"[residual] BC base from {args.demos} demos: {bc_success:.0%} success", file=sys.stderr)

    steps = [f"train.total_env_steps={args.steps}", f"train.eval_every={args.eval_every}",
             f"train.demos={demos}", f"train.num_demos={args.demos}"]  # fmt: skip
    jobs = []
    for seed in args.seeds:
        for name in args.learners:
            extra = LEARNERS[name] + ([f"agent.base_policy={bc}"] if name == "residual" else [])
            run = out / f"{name}_seed{seed}"
            cmd = [
                ROBOT_RL,
                "train",
                "task=peg_insert",
                *COMMON,
                *steps,
                *extra,
                f"train.seed={seed}",
                f"run_dir={run}",
            ]
            jobs.append((name, seed, run, cmd))

    finished = train_runs(jobs, out, args.parallel, "residual")

    results = {"bc_success_rate": bc_success, "demos": args.demos, "runs": [],
               "command": " ".join(sys.argv), "wall_min": None}  # fmt: skip
    for name, seed, run, seconds in finished:
        points = curve(run)
        results["runs"].append({
            "learner": name, "seed": seed, "curve": points, "first_step_at_90": first_at(points, 0.9),
            "holds_90_from": holds_from(points, 0.9),
            "final_success": points[-1][1], "best_success": max(r for _, r in points),
            "minutes": seconds / 60,
        })  # fmt: skip
    results["mean_curves"] = {}
    for name in args.learners:  # the success rate averaged over the seeds, at each evaluation
        curves = [r["curve"] for r in results["runs"] if r["learner"] == name]
        steps = [step for step, _ in curves[0]]
        mean = [(step, float(np.mean([c[i][1] for c in curves]))) for i, step in enumerate(steps)]
        firsts = [r["first_step_at_90"] or math.inf for r in results["runs"] if r["learner"] == name]
        median = statistics.median_low(firsts)  # a seed that never reaches 90% counts as the slowest
        results["mean_curves"][name] = {
            "curve": mean, "first_step_at_90": first_at(mean, 0.9), "holds_90_from": holds_from(mean, 0.9),
            "median_seed_first_step_at_90": None if median == math.inf else median,
        }  # fmt: skip
    results["wall_min"] = (time.time() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "curves.png")
    for r in results["runs"]:
        print(f"{r['learner']:>8} seed {r['seed']}: first >=90% at {r['first_step_at_90']}, "
              f"holds 90% from {r['holds_90_from']}, "
              f"final {r['final_success']:.0%}, best {r['best_success']:.0%}")  # fmt: skip
    for name, m in results["mean_curves"].items():
        print(f"{name:>8} mean of {len(args.seeds)} seeds: first >=90% at {m['first_step_at_90']}, "
              f"holds 90% from {m['holds_90_from']}; "
              f"median seed first >=90% at {m['median_seed_first_step_at_90']}")  # fmt: skip


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {"residual": "tab:blue", "rlpd": "tab:orange", "rlpd_pure": "tab:green"}
    for r in results["runs"]:
        steps, success = np.array(r["curve"]).T
        ax.plot(steps, success, color=colors[r["learner"]], alpha=0.3, lw=0.8)
    for name, m in results["mean_curves"].items():
        steps, success = np.array(m["curve"]).T
        ax.plot(steps, success, color=colors[name], lw=2, label=f"{name} (mean of seeds; thin: each seed)")
    ax.axhline(results["bc_success_rate"], color="gray", ls="--", label="BC base")
    ax.axhline(0.9, color="k", ls=":", lw=0.8)
    ax.set(xlabel="env steps", ylabel="success rate (40 episodes)", ylim=(-0.02, 1.02),
           title="PandaPegInsert: residual RL on BC vs RLPD")  # fmt: skip
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""Learning benchmark: SAC/RLPD on PandaPickCube (state observations, sparse reward, 20 scripted demos).

For each seed it runs `robot-rl train` with the default configs (plus any overrides given), evaluating
50 deterministic episodes every 2,000 env steps, and records the success curve and wall time. The bar
(issue #3): >= 90% success by 20k env steps in every seed, in under 20 minutes per seed on 2 cores.

    .venv/bin/python benchmarks/learn_pick_cube.py --seeds 0 1 2
    .venv/bin/python benchmarks/learn_pick_cube.py --seeds 0 --steps 10000 -- agent.num_critics=2

Writes benchmarks/results/learn_pick_cube/{seed<N>/..., results.json, curves.png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from robot_rl.cli import main as cli_main


def run_seed(seed: int, steps: int, out: Path, overrides: list[str]) -> dict:
    run_dir = out / f"seed{seed}"
    args = [
        "train",
        "task=pick_cube",
        f"train.seed={seed}",
        f"train.total_env_steps={steps}",
        "train.eval_every=2000",
        "train.eval_episodes=50",
        "train.num_demos=20",
        f"run_dir={run_dir}",
        *overrides,
    ]
    start = time.time()
    code = cli_main(args)
    wall = time.time() - start
    if code != 0:
        raise SystemExit(f"seed {seed}: robot-rl train exited with {code}")
    summary = json.loads((run_dir / "summary.json").read_text())
    history = json.loads((run_dir / "checkpoints" / "final" / "state.json").read_text())["history"]
    first_90 = next((h["env_steps"] for h in history if h["success_rate"] >= 0.9), None)
    return {
        "seed": seed,
        "final_success": summary["success_rate"],
        "steps_to_90": first_90,
        "wall_time_min": round(wall / 60, 2),
        "curve": [(h["env_steps"], h["success_rate"]) for h in history],
    }


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for r in results:
        steps, success = zip(*r["curve"], strict=True)
        ax.plot(steps, [100 * s for s in success], marker="o", label=f"seed {r['seed']}")
    ax.axhline(90, color="grey", linestyle="--", linewidth=1, label="90% bar")
    ax.set_xlabel("env steps")
    ax.set_ylabel("success over 50 eval episodes [%]")
    ax.set_ylim(-5, 105)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("PandaPickCube, state obs, sparse reward, 20 demos")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per seed")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/learn_pick_cube"), help="output folder"
    )
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for robot-rl train (after --)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = [run_seed(seed, args.steps, args.out, args.overrides) for seed in args.seeds]
    plot(results, args.out / "curves.png")
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "overrides": args.overrides,
    }
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print("\nseed | final success | steps to 90% | wall time [min]")
    for r in results:
        row = f"{r['seed']:>4} | {r['final_success']:>13.0%} | {r['steps_to_90']!s:>12} | "
        print(row + f"{r['wall_time_min']:>8}")
    print(f"curves: {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()

"""Sim-to-"real" on PandaPickCube: domain randomization, zero-shot transfer, warm-start fine-tuning.

Run from the repository root with the project venv (two runs at a time)::

    .venv/bin/python benchmarks/sim2real.py --out benchmarks/results/sim2real

1. For each seed, two source policies are trained (state observations, sparse reward, 20 scripted demos
   recorded in their own env): ``nominal`` (``dr=none``) and ``randomized`` (``dr=default``,
   configs/dr/default.yaml).
2. Zero-shot: each source policy's final checkpoint runs on the shifted variant (``dr=shifted``: cube
   mass x2, friction x0.5, one control period of action latency, camera moved) and on the nominal task,
   through ``robot-rl deploy`` (the shield on), ``--deploy-episodes`` episodes each.
3. Fine-tuning on the shifted variant: ``warm`` starts from the randomized policy's checkpoint (WSRL:
   ``train.init_from``, ``--warm-start-steps`` of rollouts with only the critic learning, no source
   data); ``scratch`` is the same learner from freshly initialised weights. Both get the same 20 scripted
   demos recorded on the shifted variant (without them the warm start collapsed as soon as its actor
   learned: docs/benchmarks.md). Both are evaluated every ``--finetune-eval-every`` steps; the warm curve
   starts with its zero-shot success at step 0.

Writes ``results.json`` and ``curves.png``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from common import ROBOT_RL, curve, first_at, runs_parser, sh, train_runs

COMMON = ["task=pick_cube", "train.eval_episodes=20", "train.video_episodes=0", "train.torch_threads=1",
          "train.num_demos=20", "agent.bc_q_filter=true"]  # fmt: skip
SOURCES = {"nominal": ["dr=none"], "randomized": ["dr=default"]}
VARIANTS = {"shifted": ["dr=shifted"], "nominal": ["dr=none"]}
# --extra-variants: dr=shifted plus one more fixed shift each (the same env for both source policies)
EXTRA_VARIANTS = {
    "shifted+gains0.7": ["dr=shifted", "+task.randomization.controller_gain_scale=[0.7,0.7]"],
    "shifted+gains1.4": ["dr=shifted", "+task.randomization.controller_gain_scale=[1.4,1.4]"],
    "shifted+damping2": ["dr=shifted", "+task.randomization.arm_damping_scale=[2.0,2.0]"],
    "shifted+bias5mm": ["dr=shifted", "+task.randomization.object_pos_bias_m=[0.005,0.005]"],
    "shifted+noise2mm": ["dr=shifted", "+task.randomization.obs_noise_std=[0.002,0.002]"],
    "shifted+size0.9": ["dr=shifted", "+task.randomization.object_size_scale=[0.9,0.9]"],
    "shifted+latency2": ["dr=shifted", "task.randomization.action_latency_steps=[2,2]"],
}


def main() -> None:
    parser = runs_parser(__doc__, "sim2real", 12_000, 2_000, list(SOURCES))
    parser.add_argument("--finetune-steps", type=int, default=8_000)
    parser.add_argument("--finetune-eval-every", type=int, default=500)
    parser.add_argument("--warm-start-steps", type=int, default=1_000)
    parser.add_argument("--deploy-episodes", type=int, default=200)
    parser.add_argument(
        "--extra-variants",
        action="store_true",
        help="also deploy every source on EXTRA_VARIANTS (dr=shifted plus one more shift)",
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    # 1. source policies
    jobs = []
    for seed in args.seeds:
        for name in args.modes:
            run = out / f"{name}_seed{seed}"
            cmd = [ROBOT_RL, "train", *COMMON, *SOURCES[name], f"train.total_env_steps={args.steps}",
                   f"train.eval_every={args.eval_every}", f"train.seed={seed}", f"run_dir={run}"]  # fmt: skip
            jobs.append((name, seed, run, cmd))
    sources = train_runs(jobs, out, args.parallel, "sim2real")

    # 2. zero-shot transfer through robot-rl deploy
    zero_shot = []
    variants = {**VARIANTS, **(EXTRA_VARIANTS if args.extra_variants else {})}
    for name, seed, run, _ in sources:
        for variant, overrides in variants.items():
            report_dir = run / f"deploy_{variant}"
            if not (report_dir / "deploy.json").exists():
                checkpoint = run / "checkpoints" / "final"
                sh([ROBOT_RL, "deploy", f"checkpoint={checkpoint}", "robot=sim", *overrides,
                    f"episodes={args.deploy_episodes}", "video_episodes=0", f"seed={seed + 7}",
                    f"out_dir={report_dir}"], out / f"deploy_{name}_{variant}_seed{seed}.log")  # fmt: skip
            report = json.loads((report_dir / "deploy.json").read_text())
            zero_shot.append({"source": name, "seed": seed, "variant": variant,
                              "success_rate": report["success_rate"],
                              "shield_trips": report["shield_trips_total"]})  # fmt: skip
            print(
                f"[sim2real] {name} seed {seed} on {variant}: {report['success_rate']:.0%}", file=sys.stderr
            )

    # 3. fine-tuning on the shifted variant: warm start from the randomized policy vs from scratch
    tune = [f"train.total_env_steps={args.finetune_steps}", f"train.eval_every={args.finetune_eval_every}",
            *VARIANTS["shifted"]]  # fmt: skip
    jobs = []
    for seed in args.seeds:
        source = out / f"randomized_seed{seed}" / "checkpoints" / "final"
        warm = [f"train.init_from={source}", f"train.warm_start_steps={args.warm_start_steps}"]
        for name, extra in (("warm", warm), ("scratch", [])):
            run = out / f"{name}_seed{seed}"
            jobs.append((name, seed, run, [ROBOT_RL, "train", *COMMON, *tune, *extra, f"train.seed={seed}",
                                           f"run_dir={run}"]))  # fmt: skip
    finetuned = train_runs(jobs, out, args.parallel, "sim2real")

    results = {"command": " ".join(sys.argv), "zero_shot": zero_shot, "sources": [], "finetune": []}
    for name, seed, run, seconds in sources:
        points = curve(run)
        results["sources"].append({"source": name, "seed": seed, "curve": points, "minutes": seconds / 60})
    for name, seed, run, seconds in finetuned:
        points = curve(run)
        if name == "warm":
            start = next(z for z in zero_shot if z["source"] == "randomized" and z["seed"] == seed
                         and z["variant"] == "shifted")  # fmt: skip
            points = [(0, start["success_rate"]), *points]
        early = [r for s, r in points if s <= 1000]
        results["finetune"].append({
            "learner": name, "seed": seed, "curve": points, "first_step_at_90": first_at(points, 0.9),
            "min_first_1k": min(early) if early else None, "final_success": points[-1][1],
            "minutes": seconds / 60,
        })  # fmt: skip
    results["wall_min"] = (time.time() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "curves.png")
    for z in zero_shot:
        print(f"zero-shot {z['source']:>10} seed {z['seed']} on {z['variant']:>8}: {z['success_rate']:.0%}")
    for r in results["finetune"]:
        print(f"fine-tune {r['learner']:>7} seed {r['seed']}: first >=90% at {r['first_step_at_90']}, "
              f"min in first 1k {r['min_first_1k']}, final {r['final_success']:.0%}")  # fmt: skip


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = sorted({z["source"] for z in results["zero_shot"]})
    for i, variant in enumerate(VARIANTS):
        means = [np.mean([z["success_rate"] for z in results["zero_shot"]
                          if z["source"] == n and z["variant"] == variant]) for n in names]  # fmt: skip
        left.bar(np.arange(len(names)) + 0.4 * i, means, width=0.4, label=f"on {variant}")
    left.set(xticks=np.arange(len(names)) + 0.2, xticklabels=[f"trained {n}" for n in names],
             ylabel="success rate (mean over seeds)", ylim=(0, 1.02), title="zero-shot transfer")  # fmt: skip
    left.legend()
    colors = {"warm": "tab:blue", "scratch": "tab:orange"}
    for r in results["finetune"]:
        steps, success = np.array(r["curve"]).T
        right.plot(steps, success, color=colors[r["learner"]], alpha=0.8, marker=".",
                   label=r["learner"] if r["seed"] == results["finetune"][0]["seed"] else None)  # fmt: skip
    right.axhline(0.9, color="k", ls=":", lw=0.8)
    right.set(xlabel="env steps on the shifted variant", ylabel="success rate (20 episodes)",
              ylim=(-0.02, 1.02),
              title="fine-tuning: WSRL warm start vs scratch")  # fmt: skip
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

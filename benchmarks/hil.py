"""Human-in-the-loop RL with a simulated intervener on PandaPickCube (state observations, sparse reward).

Run from the repository root with the project venv (two runs at a time)::

    .venv/bin/python benchmarks/hil.py --out benchmarks/results/hil

1. The intervener alone (sim/intervener.py: the scripted expert misjudging object positions;
   configs/intervention) acts for ``--intervener-episodes`` episodes: its own success rate, the bar
   both HIL modes must beat.
2. ``--demos`` scripted demos are recorded once; every run uses them as its offline data.
3. For each seed and mode in ``MODES``: ``robot-rl train intervention=<mode>`` — ``none`` (the same
   learner, no interventions), ``hil_serl`` (intervened transitions also join the demo buffer) and
   ``rlif`` (reward -1 at each take-over, task reward ignored) — evaluated (policy alone, no
   intervener) every ``--eval-every`` steps. Finished runs are not repeated.

Writes ``results.json`` (curves, first step at >= 80%, final success, intervention rate over training
per run) and ``curves.png``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from common import ROBOT_RL, binned, curve, first_at, runs_parser, scalars, sh, train_runs

#: Every mode shares one learner: the project's SAC+BC with the BC term Q-filtered (agent.bc_q_filter), which
#: the intervener's imperfect corrections need (docs/hil.md).
COMMON = ["task=pick_cube", "train.eval_episodes=20", "train.video_episodes=0", "train.torch_threads=1",
          "agent.bc_q_filter=true"]  # fmt: skip
#: mode -> its settings.
MODES = {"none": ["intervention=none"], "hil_serl": ["intervention=hil_serl"], "rlif": ["intervention=rlif"]}


def intervener_success(episodes: int, overrides: list[str]) -> float:
    """The simulated intervener's success rate when it drives every step of every episode."""
    from robot_rl.config import load_config, task_config
    from robot_rl.envs.make import make_env
    from sim.experts import make_expert
    from sim.intervener import IntervenerConfig, SimulatedIntervener

    cfg = load_config("train", ["task=pick_cube", *overrides])
    task = task_config(cfg.task)
    settings = IntervenerConfig(**cfg.intervention.intervener, seed=1)
    intervener = SimulatedIntervener(make_expert(task.expert, task.action_scale), settings, task.action_dims)
    env = make_env(task)
    successes = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=20_000_000 + episode)
        intervener.reset()
        done, info = False, {}
        while not done:
            obs, _, terminated, truncated, info = env.step(intervener.act(obs)[task.action_dims])
            done = terminated or truncated
        successes.append(bool(info["success"]))
    env.close()
    return float(np.mean(successes))


def main() -> None:
    parser = runs_parser(__doc__, "hil", steps=8_000, eval_every=1000, modes=list(MODES))
    parser.add_argument("--demos", type=int, default=2, help="scripted demos every run starts with")
    parser.add_argument("--intervener-episodes", type=int, default=100)
    parser.add_argument(
        "--intervener", nargs="*", default=[], help="its overrides: intervention.intervener.aim_error=0.02"
    )
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    alone = intervener_success(args.intervener_episodes, args.intervener)
    print(f"[hil] intervener alone: {alone:.0%} over {args.intervener_episodes} episodes", file=sys.stderr)
    demos = out / "demos.hdf5"
    if not demos.exists():
        sh([ROBOT_RL, "collect-demos", "task=pick_cube", f"n={args.demos}", f"out={demos}", "seed=0"],
           out / "demos.log")  # fmt: skip
    settings = [f"train.total_env_steps={args.steps}", f"train.eval_every={args.eval_every}",
                f"train.demos={demos}", f"train.num_demos={args.demos}"]  # fmt: skip
    jobs = [
        (mode, seed, out / f"{mode}_seed{seed}",
         [ROBOT_RL, "train", *COMMON, *settings, *MODES[mode], *args.intervener, f"train.seed={seed}",
          f"run_dir={out / f'{mode}_seed{seed}'}"])
        for seed in args.seeds for mode in args.modes
    ]  # fmt: skip
    finished = train_runs(jobs, out, args.parallel, "hil")

    results = {"intervener_success_rate": alone, "intervener_episodes": args.intervener_episodes,
               "demos": args.demos, "command": " ".join(sys.argv), "runs": []}  # fmt: skip
    for mode, seed, run, seconds in finished:
        points = curve(run)
        rate = binned(scalars(run, "rollout/intervention_rate"), args.eval_every)
        results["runs"].append({
            "mode": mode, "seed": seed, "curve": points, "first_step_at_80": first_at(points, 0.8),
            "final_success": points[-1][1], "best_success": max(r for _, r in points),
            "intervention_rate": rate, "minutes": seconds / 60,
        })  # fmt: skip
    results["wall_min"] = (time.time() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "curves.png")
    for r in results["runs"]:
        rates = ", ".join(f"{v:.0%}" for _, v in r["intervention_rate"])
        print(f"{r['mode']:>8} seed {r['seed']}: first >=80% at {r['first_step_at_80']}, "
              f"final {r['final_success']:.0%}, best {r['best_success']:.0%}; "
              f"interventions [{rates}]")  # fmt: skip


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    colors = {"none": "tab:gray", "hil_serl": "tab:blue", "rlif": "tab:orange"}
    first_seed = results["runs"][0]["seed"]
    for r in results["runs"]:
        label = r["mode"] if r["seed"] == first_seed else None
        steps, success = np.array(r["curve"]).T
        top.plot(steps, success, color=colors[r["mode"]], alpha=0.8, label=label)
        if r["intervention_rate"]:
            steps, rate = np.array(r["intervention_rate"]).T
            bottom.plot(steps, rate, color=colors[r["mode"]], alpha=0.8, label=label)
    top.axhline(results["intervener_success_rate"], color="k", ls="--", label="intervener alone")
    top.axhline(0.8, color="k", ls=":", lw=0.8)
    top.set(ylabel="success rate (policy alone)", ylim=(-0.02, 1.02), title="PandaPickCube: HIL-SERL, RLIF")
    top.legend(loc="upper left", fontsize=8)
    bottom.set(xlabel="env steps", ylabel="share of steps intervened", ylim=(-0.02, 1.02))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

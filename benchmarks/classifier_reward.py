"""RL with a learned reward: SAC/RLPD on PandaPickCube paid by an image success classifier, not the task.

Run from the repository root with the project venv (two runs at a time)::

    .venv/bin/python benchmarks/classifier_reward.py --out benchmarks/results/classifier_reward

1. ``robot-rl record-success-fail`` records the labelled frames (64 px front + wrist cameras, the default
   policy mix) and a second recording of other seeds for the held-out numbers.
2. ``robot-rl train-classifier`` trains the classifier and picks its threshold (target precision 0.99).
3. For each seed, ``robot-rl train`` with ``train.reward_classifier=<that classifier>``: the training env
   renders both cameras for the classifier, whose verdict is the only reward and ends the episode; the
   policy sees the state only (``task.policy_cameras=[]``, CPU time). The task's own success never ends a
   training episode (``make_env`` turns it off under a classifier); evaluation (policy alone, deterministic)
   measures the true success. The same learner paid by the task's reward runs beside it for reference.
   Finished runs are not repeated.

Writes ``results.json`` (curves, first step at >= 80% true success, final success, and per classifier run
the false positives seen during training: rewarded steps where the task had not succeeded) and
``curves.png``. What those false positives look like is probed afterwards: the final policy runs
``--probe-episodes`` training-env episodes (classifier reward, deterministic), and at every false positive
the task's own measures are kept: how far the cube is lifted (``reward_lift``: 1 = the 10 cm line) and
whether the gripper holds it (``reward_grasp``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from common import ROBOT_RL, curve, first_at, runs_parser, sh, train_runs

COMMON = ["task=pick_cube", "train.eval_episodes=20", "train.video_episodes=0", "train.torch_threads=1"]
#: run name -> its settings.
MODES = {
    "classifier": [
        "task.images=true",
        "task.image_size=64",
        "task.policy_cameras=[]",
    ],
    "task_reward": [],
}


def record_and_train_classifier(out: Path) -> Path:
    """The labelled recordings and the trained classifier (each made once)."""
    frames, held_out, classifier = (
        out / "success_fail.hdf5",
        out / "success_fail_test.hdf5",
        out / "classifier",
    )
    if not frames.exists():
        sh([ROBOT_RL, "record-success-fail", f"out={frames}"], out / "record.log")
    if not held_out.exists():
        sh(
            [ROBOT_RL, "record-success-fail", "episodes=50", "seed=10000", f"out={held_out}"],
            out / "record_test.log",
        )
    if not (classifier / "classifier.json").exists():
        sh(
            [
                ROBOT_RL,
                "train-classifier",
                f"dataset={frames}",
                f"eval_dataset={held_out}",
                f"out={classifier}",
            ],
            out / "train_classifier.log",
        )
    return classifier


def main() -> None:
    parser = runs_parser(__doc__, "classifier_reward", steps=20_000, eval_every=2000, modes=list(MODES))
    parser.add_argument("--probe-episodes", type=int, default=50)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    classifier = record_and_train_classifier(out)
    settings = [f"train.total_env_steps={args.steps}", f"train.eval_every={args.eval_every}"]
    jobs = []
    for seed in args.seeds:
        for mode in args.modes:
            run = out / f"{mode}_seed{seed}"
            reward = [f"train.reward_classifier={classifier}"] if mode == "classifier" else []
            command = [
                ROBOT_RL,
                "train",
                *COMMON,
                *settings,
                *MODES[mode],
                *reward,
                f"train.seed={seed}",
                f"run_dir={run}",
            ]
            jobs.append((mode, seed, run, command))
    finished = train_runs(jobs, out, args.parallel, "classifier_reward")

    meta = json.loads((classifier / "classifier.json").read_text())
    results = {
        "command": " ".join(sys.argv),
        "classifier": {
            "threshold": meta["threshold"],
            "validation": meta["validation"],
            "held_out": meta.get("evaluation"),
        },
        "runs": [],
    }
    for mode, seed, run, seconds in finished:
        points = curve(run)
        summary = json.loads((run / "summary.json").read_text())
        results["runs"].append(
            {
                "mode": mode,
                "seed": seed,
                "curve": points,
                "first_step_at_80": first_at(points, 0.8),
                "final_success": points[-1][1],
                "best_success": max(r for _, r in points),
                "classifier_during_training": summary.get("reward_classifier"),
                "minutes": seconds / 60,
                "false_positive_probe": probe_false_positives(run, args.probe_episodes)
                if mode == "classifier"
                else None,
            }
        )
    results["wall_min"] = (time.time() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "curves.png")
    for r in results["runs"]:
        line = (
            f"{r['mode']:>12} seed {r['seed']}: first >=80% true success at {r['first_step_at_80']}, "
            f"final {r['final_success']:.0%}, best {r['best_success']:.0%}"
        )
        stats = r["classifier_during_training"]
        if stats:
            line += (
                f"; classifier rewarded {stats['rewarded_steps']} steps, {stats['false_positive_steps']} "
                f"false ({stats['false_positive_rate']:.1%}), missed {stats['missed_success_episodes']} "
                f"true successes in {stats['episodes']} episodes"
            )
        print(line)
        probe = r["false_positive_probe"]
        if probe:
            print(
                f"{'':>12} probe of the final policy: {probe['false_positive_steps']} false positives in "
                f"{probe['episodes']} episodes; cube lift at them (1 = the 10 cm line) "
                f"{probe['lift_min']:.2f}-{probe['lift_max']:.2f}, "
                f"held in the gripper at {probe['held_share']:.0%}"
            )


def probe_false_positives(run: Path, episodes: int) -> dict:
    """The final policy of a classifier-paid run in its training env: where does the classifier call a
    failure success? The task's info at each such step (PandaPickCube: reward_lift, reward_grasp)."""
    from omegaconf import OmegaConf

    from robot_rl.agents import agent_config
    from robot_rl.commands.train import make_trainer
    from robot_rl.config import task_config, to_dataclass
    from robot_rl.data.layout import flatten_obs
    from robot_rl.loop import TrainConfig
    from robot_rl.safety.config import safety_config

    cfg = OmegaConf.load(run / "config.yaml")
    train = to_dataclass(TrainConfig, cfg.train, "train")
    train.eval_episodes, train.demos = 0, None
    trainer = make_trainer(
        task_config(cfg.task), agent_config(cfg.agent), train, run / "probe", safety_config(cfg)
    )
    trainer.resume(run / "checkpoints" / "final")
    lifts, held, rewarded = [], [], 0
    for episode in range(episodes):
        obs, _ = trainer.env.reset(seed=30_000_000 + episode)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = trainer.env.step(
                trainer.agent.act(flatten_obs(obs), True)
            )
            rewarded += int(reward > 0)
            if info["success"] and not info["task_success"]:
                lifts.append(info["reward_lift"])
                held.append(info["reward_grasp"])
            done = terminated or truncated
    trainer.env.close()
    return {
        "episodes": episodes,
        "rewarded_steps": rewarded,
        "false_positive_steps": len(lifts),
        "lift_min": min(lifts, default=float("nan")),
        "lift_max": max(lifts, default=float("nan")),
        "held_share": float(np.mean(held)) if held else float("nan"),
        "lifts": lifts,
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {"classifier": "tab:blue", "task_reward": "tab:gray"}
    labels = {"classifier": "reward from the image classifier", "task_reward": "reward from the task"}
    seen = set()
    for r in results["runs"]:
        steps, success = np.array(r["curve"]).T
        label = None if r["mode"] in seen else labels[r["mode"]]
        seen.add(r["mode"])
        ax.plot(steps, success, color=colors[r["mode"]], alpha=0.8, label=label)
    ax.axhline(0.8, color="k", ls=":", lw=0.8)
    ax.set(
        xlabel="env steps",
        ylabel="true success rate (policy alone)",
        ylim=(-0.02, 1.02),
        title="PandaPickCube, state policy, learned image reward",
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""The safety shield against random and adversarial policies in every simulated task.

Run from the repository root with the project venv (~3 min)::

    .venv/bin/python benchmarks/safety.py --out benchmarks/results/safety.json

For each task (MuJoCo pick-cube and peg-insert, PyBullet pick-cube) and policy, ``--steps`` env steps run
behind ``SafetyShield`` with the default ``configs/safety/default.yaml`` limits. Policies:

- ``random``: uniform over [-1, 1]^7;
- ``adversarial``: per episode one of: ``corner`` (saturated, 5x out of range, towards a random corner
  of position and orientation, re-drawn every 20 steps), ``down`` (press down with the gripper closed at
  a random spot), ``bang`` (full-scale direction reversal every step: maximum accelerations), ``spin``
  (maximum rotation about a random axis).

Checked independently of the shield's own bookkeeping, from the measured pose before each step and the
command the env executed:

- ``commands_outside_box``: executed position target (measured TCP + executed delta) outside the box and
  further from it than the measured TCP (an arm that overshot the box may be commanded back in; no
  command may lead out or further out);
- ``commands_over_speed``: executed translation/rotation faster than ``max_tcp_speed``/``max_tcp_rot_speed``;
- ``unanswered_limit_trips``: a step whose starting state was over a measured limit (force/torque, joint
  speed) but whose command did not come from the backup.

Measured state (what the arm did, reported, not a pass/fail): the largest TCP excursion outside the box,
steps over the joint-speed and force limits.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import robot_rl  # noqa: E402,F401  (registers the ids)
from robot_rl.safety.config import SafetyConfig  # noqa: E402
from robot_rl.safety.shield import SafetyShield  # noqa: E402

TASKS = ["robot_rl/PandaPickCube-v0", "robot_rl/PandaPegInsert-v0", "robot_rl/PandaPickCubeBullet-v0"]
MODES = ("corner", "down", "bang", "spin")


class Adversary:
    """Pushes at every limit; one mode per episode."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.mode, self.t, self.direction = "corner", 0, np.zeros(7)

    def reset(self) -> None:
        self.mode, self.t = str(self.rng.choice(MODES)), 0
        self._draw()

    def _draw(self) -> None:
        rng = self.rng
        if self.mode == "corner":
            self.direction = np.append(rng.choice([-5.0, 5.0], 6), rng.choice([-1.0, 1.0]))
        elif self.mode == "down":
            self.direction = np.array([*rng.uniform(-0.3, 0.3, 2), -5.0, 0, 0, 0, 1.0])
        elif self.mode == "bang":
            self.direction = np.append(rng.choice([-1.0, 1.0], 6), -1.0)
        else:  # spin
            axis = rng.standard_normal(3)
            self.direction = np.concatenate([np.zeros(3), 5.0 * axis / np.linalg.norm(axis), [0.0]])

    def __call__(self) -> np.ndarray:
        self.t += 1
        if self.mode == "corner" and self.t % 20 == 0:
            self._draw()
        if self.mode == "bang":
            self.direction[:6] *= -1.0
        return self.direction.astype(np.float32)


def outside(box, pos: np.ndarray) -> float:
    """Distance [m] from ``pos`` to the box (0 inside)."""
    return float(np.linalg.norm(np.maximum(box.low - pos, 0.0) + np.maximum(pos - box.high, 0.0)))


def run(env_id: str, policy: str, steps: int, seed: int) -> dict[str, Any]:
    cfg = SafetyConfig()
    env = SafetyShield(gym.make(env_id, disable_env_checker=True), cfg)
    rng = np.random.default_rng(seed)
    adversary = Adversary(rng)
    scale, period = env.action_scale, env.period_s
    limits = env.measured
    counts: Counter[str] = Counter()
    worst_excursion, worst_at = 0.0, None
    modes: Counter[str] = Counter()
    obs, _ = env.reset(seed=seed)
    adversary.reset()
    modes[adversary.mode] += 1
    started = time.perf_counter()
    for step in range(steps):
        action = rng.uniform(-1, 1, 7).astype(np.float32) if policy == "random" else adversary()
        before = obs["state"]
        tripped = limits.triggers(before, env._tare)
        obs, _, terminated, truncated, info = env.step(action)
        executed = info["executed_action"].astype(np.float64)
        move_m, turn_rad = executed[:3] * scale[0], executed[3:6] * scale[1]
        tcp, target = before["tcp_pose"][:3], before["tcp_pose"][:3] + move_m
        if outside(env.box, target) > outside(env.box, tcp) + 1e-6:
            counts["commands_outside_box"] += 1  # leads out of the box, or further out than the arm is
        if np.linalg.norm(move_m) / period > cfg.max_tcp_speed + 1e-6:
            counts["commands_over_speed"] += 1
        if np.linalg.norm(turn_rad) / period > cfg.max_tcp_rot_speed + 1e-6:
            counts["commands_over_speed"] += 1
        layers = {e["layer"] for e in info["safety"]}
        if tripped and not (set(tripped) & layers):
            counts["unanswered_limit_trips"] += 1
        pos = obs["state"]["tcp_pose"][:3]
        excursion = float(np.max(np.maximum(env.box.low - pos, pos - env.box.high)))
        if excursion > worst_excursion:
            worst_excursion = excursion
            worst_at = {"step": step, "tcp_before": before["tcp_pose"][:3].tolist(),
                        "tcp_after": pos.tolist(), "events": sorted(layers)}  # fmt: skip
        after = limits.triggers(obs["state"], env._tare)
        counts.update(f"measured_over_{k}" for k in after)
        if terminated or truncated or (step + 1) % 100 == 0:
            obs, _ = env.reset(seed=seed + step + 1)
            adversary.reset()
            modes[adversary.mode] += 1
    elapsed = time.perf_counter() - started
    env.close()
    for key in ("commands_outside_box", "commands_over_speed", "unanswered_limit_trips"):
        counts.setdefault(key, 0)
    return {
        "env_id": env_id,
        "policy": policy,
        "steps": steps,
        **dict(counts),
        "max_tcp_excursion_outside_box_m": max(worst_excursion, 0.0),
        "worst_excursion": worst_at,
        "shield_events": env.summary(),
        "adversary_episodes": dict(modes) if policy == "adversarial" else None,
        "steps_per_s": steps / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "safety.json")
    parser.add_argument("--steps", type=int, default=10_000, help="env steps per task and policy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = []
    for env_id in TASKS:
        for policy in ("random", "adversarial"):
            print(f"[safety] {env_id} {policy} x {args.steps}", file=sys.stderr, flush=True)
            results.append(run(env_id, policy, args.steps, args.seed))
            r = results[-1]
            print(
                f"  outside box {r['commands_outside_box']}, over speed {r['commands_over_speed']}, "
                f"unanswered trips {r['unanswered_limit_trips']}, events {r['shield_events']}",
                file=sys.stderr,
            )
    failures = sum(
        r["commands_outside_box"] + r["commands_over_speed"] + r["unanswered_limit_trips"] for r in results
    )
    out = {"results": results, "violations": failures, "date": datetime.date.today().isoformat(),
           "command": " ".join(sys.argv)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=lambda o: np.asarray(o).tolist()))
    print(f"[safety] executed commands outside a limit: {failures}", file=sys.stderr)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""SAC learner throughput: our batched critic ensemble against a per-member Python loop, on CPU.

Run from the repository root with the project venv (~2.5 min with the defaults)::

    .venv/bin/python benchmarks/learner_throughput.py --out benchmarks/results/learner_throughput.json

OURS is ``SACAgent.update`` as shipped: the ensemble is ``EnsembleLinear`` layers (one ``baddbmm`` per layer
for all members). LOOP is the same agent, same update code, same REDQ target, same Adam, with only the
critic and target critic swapped for an ``nn.ModuleList`` of independent MLPs (Linear-LayerNorm-ReLU per
hidden layer -> Linear) evaluated one member after another and stacked. "critic" timings use
``actor_delay`` = 10**9 (critic updates only); "full" timings use ``actor_delay`` = 1 (critic + actor +
temperature per update). Every update sees one fixed random batch. Measurements are interleaved round by
round (each config once per round, order reversed every other round) so background load hits all configs
alike; the median is reported.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from robot_rl.agents.sac import Encoder, SACAgent, SACConfig
from robot_rl.buffers import Batch
from robot_rl.networks import EnsembleLayerNorm, EnsembleLinear, mlp
from robot_rl.obs import ObsSpec

REPO = Path(__file__).resolve().parents[1]
MODES = {"critic": 10**9, "full": 1}  # mode -> actor_delay


class LoopCritic(nn.Module):
    """Drop-in for ``Critic``: ``num_critics`` separate MLPs, one Python-loop iteration each."""

    def __init__(self, spec: ObsSpec, action_dim: int, cfg: SACConfig) -> None:
        super().__init__()
        self.encoder = Encoder(spec, cfg.image_feature_dim)
        self.num_critics = cfg.num_critics
        in_dim = self.encoder.out_dim + action_dim
        self.members = nn.ModuleList(
            mlp(in_dim, cfg.hidden_dims, 1, cfg.critic_layer_norm) for _ in range(cfg.num_critics)
        )

    def forward_features(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([features, action], dim=-1)
        return torch.stack([member(x).squeeze(-1) for member in self.members])  # (E, B)


def make_agent(impl: str, spec: ObsSpec, action_dim: int, cfg: SACConfig, seed: int) -> SACAgent:
    agent = SACAgent(spec, action_dim, cfg, seed=seed)
    if impl == "loop":
        agent.critic = LoopCritic(spec, action_dim, cfg)
        agent.target_critic = copy.deepcopy(agent.critic).requires_grad_(False)
        agent.critic_opt = torch.optim.Adam(agent.critic.parameters(), lr=cfg.critic_lr)
    return agent


def check_same_maths(spec: ObsSpec, action_dim: int, cfg: SACConfig, batch: Batch) -> float:
    """Copy the batched ensemble's weights into the loop critic; return the max |Q difference|."""
    ours, loop = SACAgent(spec, action_dim, cfg).critic, LoopCritic(spec, action_dim, cfg)
    with torch.no_grad():
        for e, member in enumerate(loop.members):
            for src, dst in zip(ours.q, member, strict=True):
                if isinstance(src, EnsembleLinear):
                    dst.weight.copy_(src.weight[e].T)
                    dst.bias.copy_(src.bias[e, 0])
                elif isinstance(src, EnsembleLayerNorm):
                    dst.weight.copy_(src.weight[e, 0])
                    dst.bias.copy_(src.bias[e, 0])
        q_ours, q_loop = (c.forward_features(ours.encoder(batch.obs), batch.actions) for c in (ours, loop))
    return float((q_ours - q_loop).abs().max())


def random_batch(spec: ObsSpec, batch_size: int, action_dim: int, seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)

    def obs() -> dict[str, torch.Tensor]:
        return {k: torch.randn(batch_size, *spec.spaces[k].shape, generator=g) for k in spec.state_keys}

    return Batch(
        obs=obs(),
        actions=torch.rand(batch_size, action_dim, generator=g) * 2 - 1,
        rewards=torch.randn(batch_size, generator=g),
        discounts=torch.full((batch_size,), 0.99),
        next_obs=obs(),
        from_demos=torch.zeros(batch_size, dtype=torch.bool),
    )


def rate(agent: SACAgent, batch: Batch, seconds: float, min_updates: int) -> float:
    """Updates per second over at least ``seconds`` and ``min_updates`` calls of ``agent.update``."""
    n, t0 = 0, time.perf_counter()
    while n < min_updates or time.perf_counter() - t0 < seconds:
        agent.update(batch)
        n += 1
    return n / (time.perf_counter() - t0)


def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    return {
        "cpu": models[0] if models else platform.processor(),
        "cores": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    fmt = type("Fmt", (argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter), {})
    p = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    out = REPO / "benchmarks/results/learner_throughput.json"
    p.add_argument("--out", type=Path, default=out, help="JSON results: every repeat, machine, versions")
    p.add_argument("--critics", type=int, nargs="+", default=[2, 10], help="ensemble sizes to measure")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds; the median is reported")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per config per round")
    p.add_argument("--warmup-seconds", type=float, default=1.0, help="untimed seconds per config first")
    p.add_argument("--min-updates", type=int, default=5, help="at least this many updates per timing")
    p.add_argument("--batch-size", type=int, default=256, help="minibatch size")
    p.add_argument("--obs-dim", type=int, default=21, help="size of the state observation")
    p.add_argument("--action-dim", type=int, default=4, help="size of the action")
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="MLP hidden widths")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and of the random batch")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")  # sac.py's q_mean
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    space = gym.spaces.Dict({"state": gym.spaces.Box(-1, 1, (args.obs_dim,), np.float32)})
    spec = ObsSpec.from_space(space)
    batch = random_batch(spec, args.batch_size, args.action_dim, args.seed)
    base = SACConfig(hidden_dims=list(args.hidden), critic_layer_norm=True, num_min_critics=2)
    configs = [(e, impl, mode) for e in args.critics for mode in MODES for impl in ("ours", "loop")]
    cfgs = {c: SACConfig(**{**vars(base), "num_critics": c[0], "actor_delay": MODES[c[2]]}) for c in configs}
    agents = {c: make_agent(c[1], spec, args.action_dim, cfgs[c], args.seed) for c in configs}
    max_diff = check_same_maths(spec, args.action_dim, SACConfig(**{**vars(base), "num_critics": 3}), batch)
    started, t_start, loads = datetime.datetime.now().astimezone(), time.perf_counter(), [os.getloadavg()]
    for c in configs:
        rate(agents[c], batch, args.warmup_seconds, args.min_updates)
    runs: dict[tuple[int, str, str], list[float]] = {c: [] for c in configs}
    for r in range(args.rounds):
        for c in configs if r % 2 == 0 else configs[::-1]:  # ABBA order: drift hits both sides alike
            runs[c].append(rate(agents[c], batch, args.seconds, args.min_updates))
        loads.append(os.getloadavg())
        print(f"[learner_throughput] round {r + 1}/{args.rounds}, load {loads[-1][0]:.2f}", file=sys.stderr)
    med = {c: statistics.median(v) for c, v in runs.items()}
    hdr = "| critics | mode | ours upd/s | loop upd/s | ours / loop | ours min-max | loop min-max |"
    rows = [hdr, "|---|---|---|---|---|---|---|"]
    pairs = [(e, m) for e in args.critics for m in MODES]
    for e, mode in pairs:
        (o, mo), (lp, ml) = [(runs[(e, i, mode)], med[(e, i, mode)]) for i in ("ours", "loop")]
        rows.append(
            f"| {e} | {mode} | {mo:.1f} | {ml:.1f} | {mo / ml:.2f}x | "
            f"{min(o):.1f}-{max(o):.1f} | {min(lp):.1f}-{max(lp):.1f} |"
        )
    print("\n".join(rows))
    load1 = [round(x[0], 2) for x in loads]
    print(f"max |Q_ours - Q_loop|, same weights: {max_diff:.1e}; 1-min load average: {load1}")
    result = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "versions": dict(python=platform.python_version(), torch=torch.__version__, numpy=np.__version__),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "num_threads": torch.get_num_threads(),
        "max_abs_q_diff_copied_weights": max_diff,
        "load_average_1_5_15": loads,
        "results": [
            {"num_critics": c[0], "impl": c[1], "mode": c[2], "median_updates_per_s": med[c], "runs": runs[c]}
            for c in configs
        ],
        "ratio_ours_over_loop": {f"{e}_{m}": med[(e, "ours", m)] / med[(e, "loop", m)] for e, m in pairs},
        "wall_s": time.perf_counter() - t_start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

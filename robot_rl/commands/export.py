"""Exports a trained policy for deployment: `robot-rl export checkpoint=<folder> out=<folder>`.

The export holds the policy's weights (actor and encoder, no critic targets, no optimiser state, no
replay) and policy.json: the observation keys with shapes in the learner's order, the action and its
scaling, the normalisation, and the training config. `robot-rl deploy checkpoint=<export>` runs it.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from robot_rl.config import ConfigError
from robot_rl.policy_export import export_policy


def run(cfg: DictConfig) -> int:
    if not cfg.checkpoint:
        raise ConfigError("pass checkpoint=<run>/checkpoints/<name> (a robot-rl train checkpoint folder)")
    out = Path(cfg.out) if cfg.out else Path(cfg.checkpoint).resolve().parent.parent / "export"
    export_policy(cfg.checkpoint, out)
    size_kb = (out / "policy.safetensors").stat().st_size / 1024
    print(f"exported {cfg.checkpoint} -> {out} (policy.safetensors {size_kb:.0f} kB, policy.json)")
    return 0

"""Evaluates a trained checkpoint: the deterministic policy over seeded episodes, a success rate, and an
MP4 of the first episodes. The task, agent and observation keys come from the checkpoint's own
config.yaml, so `robot-rl eval checkpoint=<folder>` needs nothing else; `task.*` overrides (e.g. a
shifted variant) are applied on top.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robot_rl.agents import agent_config
from robot_rl.commands.train import make_trainer
from robot_rl.config import ConfigError, task_on_target, to_dataclass
from robot_rl.loop import TrainConfig
from robot_rl.safety.config import safety_config


def run(cfg: DictConfig) -> int:
    if not cfg.checkpoint:
        raise ConfigError(
            "pass checkpoint=<run>/checkpoints/<name> (e.g. runs/pick_cube/seed0/checkpoints/final)"
        )
    checkpoint = Path(cfg.checkpoint)
    saved = checkpoint / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"{checkpoint} has no config.yaml; is it a checkpoint folder of `robot-rl train`?")
    run_cfg = OmegaConf.load(saved)
    task = task_on_target(run_cfg.task, cfg.get("task"))
    train: TrainConfig = to_dataclass(TrainConfig, run_cfg.train, "train")
    train.eval_episodes, train.video_episodes = int(cfg.episodes), int(cfg.video_episodes)
    # what only training reads: evaluation needs none of it, nor that its files still exist
    train.demos = train.init_from = train.reward_classifier = None
    train.retain_source_data = False
    out_dir = Path(cfg.out_dir) if cfg.out_dir else checkpoint.parent.parent / f"eval_{checkpoint.name}"
    agent_cfg = agent_config(run_cfg.agent)
    trainer = make_trainer(task, agent_cfg, train, out_dir, safety_config(run_cfg))
    trainer.agent.eval()
    trainer.resume(checkpoint)
    result = trainer.evaluate(log_history=False)
    video = trainer.record_video() if train.video_episodes > 0 else None
    summary = {**result, "episodes": train.eval_episodes, "checkpoint": str(checkpoint), "video": str(video)}
    (out_dir / "eval.json").write_text(json.dumps(summary, indent=1))
    print(f"success rate {result['success_rate']:.0%} over {train.eval_episodes} episodes; video: {video}")
    return 0

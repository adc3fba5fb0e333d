"""Trains SAC/RLPD in one process (actor and learner in one loop, the fast path for simulation).

With `train.demos=auto` (the default) the task's scripted expert first records `train.num_demos`
episodes into the run folder (tasks without an expert train without demos); they form the offline
half of every batch (RLPD). Any gymnasium env with Box or Dict observations works: `task.env_id=...`,
e.g. `robot-rl train task=pendulum`. At the end the run
folder holds learning_curve.png, eval.csv, eval.mp4, summary.json, TensorBoard logs and checkpoints;
`resume=<checkpoint folder>` continues a run exactly.
"""

from __future__ import annotations

import logging
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from robot_rl.agents.sac import SACConfig
from robot_rl.config import ConfigError, TaskConfig, task_config, to_dataclass
from robot_rl.demos import load_demo_buffer
from robot_rl.envs.make import make_env
from robot_rl.loop import TrainConfig, Trainer
from robot_rl.safety.config import SafetyConfig, safety_config

log = logging.getLogger(__name__)


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def resolve_demos(task: TaskConfig, train: TrainConfig, run_dir: Path) -> str | None:
    """The demo file to use: the given path, or (``auto``) scripted-expert demos recorded now."""
    if train.demos in (None, "", "none"):
        return None
    if train.demos != "auto":
        if not Path(train.demos).is_file():
            raise ConfigError(
                f"train.demos={train.demos} does not exist; record it with `robot-rl collect-demos`"
            )
        return train.demos
    if task.expert is None:
        log.info("task %s has no scripted expert: training without demos", task.name)
        return None
    from robot_rl.commands.collect_demos import collect_expert_demos

    path = run_dir / "demos.hdf5"
    if not path.is_file():
        n = train.num_demos or 20
        written, _, _ = collect_expert_demos(task, n, path, seed=10_000 + 1_000 * train.seed)
        if written < n:
            raise ConfigError(f"the scripted expert made only {written}/{n} successful demos for {task.name}")
    return str(path)


def demo_loader(task: TaskConfig, train: TrainConfig, run_dir: Path) -> Any:
    """The trainer's demo loader for ``train.demos`` (recording scripted demos first for ``auto``)."""
    demos = resolve_demos(task, train, run_dir)
    return None if demos is None else partial(_load_demos, demos, task.action_dims, train.num_demos)


def make_trainer(
    task: TaskConfig,
    agent_cfg: SACConfig,
    train: TrainConfig,
    run_dir: Path,
    safety: SafetyConfig | None = None,
    **kwargs: Any,
) -> Trainer:
    """The single-process trainer for a task (used by train and eval), its envs behind the shield."""
    env_factory = partial(make_env, task, gripper_stay=agent_cfg.gripper_critic, safety=safety)
    if train.conservative_floor > 0 and task.expert:
        from sim.experts import make_expert

        kwargs["baseline"] = make_expert(task.expert, task.action_scale, task.action_dims)
    return Trainer(env_factory, agent_cfg, train, run_dir, state_keys=task.state_keys, **kwargs)


def run(cfg: DictConfig) -> int:
    task = task_config(cfg.task)
    agent_cfg: SACConfig = to_dataclass(SACConfig, cfg.agent, "agent")
    train: TrainConfig = to_dataclass(TrainConfig, cfg.train, "train")
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    (run_dir / "config.yaml").write_text(config_yaml)
    log.info("git %s, config:\n%s", git_sha(), config_yaml)

    loader = demo_loader(task, train, run_dir)
    trainer = make_trainer(
        task, agent_cfg, train, run_dir, safety_config(cfg), demo_loader=loader, config_yaml=config_yaml
    )
    if cfg.resume:
        trainer.resume(cfg.resume)
    summary = trainer.run()
    print(
        f"\nsuccess rate {summary['success_rate']:.0%} after {summary['env_steps']} env steps "
        f"in {summary['wall_time_s'] / 60:.1f} min\n"
        f"learning curve: {summary['learning_curve']}\nvideo: {summary['video']}\n"
        f"checkpoint: {summary['checkpoint']}\nsafety events: {summary['safety_events'] or 'none'}\n"
        f"TensorBoard: tensorboard --logdir {run_dir / 'tensorboard'}"
    )
    return 0


def _load_demos(path, action_dims, num_demos, make_buffer, spec):
    return load_demo_buffer(path, make_buffer, spec, action_dims=action_dims, num_demos=num_demos)

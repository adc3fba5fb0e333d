"""Trains SAC/RLPD in one process (actor and learner in one loop, the fast path for simulation).

With `train.demos=auto` (the default) the task's scripted expert first records `train.num_demos`
episodes into the run folder (tasks without an expert train without demos); they form the offline
half of every batch (RLPD). Any gymnasium env with Box or Dict observations works: `task.env_id=...`,
e.g. `robot-rl train task=pendulum`. At the end the run
folder holds learning_curve.png, eval.csv, eval.mp4, summary.json, TensorBoard logs and checkpoints;
`resume=<checkpoint folder>` continues a run exactly. Residual RL on a frozen base policy:
`robot-rl train task=peg_insert agent=residual agent.base_policy=runs/bc_peg_insert` (see train-bc).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from robot_rl.agents import AgentConfig, agent_config
from robot_rl.agents.bc import BCPolicy
from robot_rl.agents.residual import BASE_ACTION_KEY, ResidualConfig
from robot_rl.config import ConfigError, TaskConfig, task_config, to_dataclass
from robot_rl.data.layout import unflatten_obs
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
    from robot_rl.commands.collect_demos import expert_demos_once

    n, seed = train.num_demos or 20, 10_000 + 1_000 * train.seed
    return str(expert_demos_once(policy_view(task), n, run_dir / "demos.hdf5", seed=seed))


def demo_loader(task: TaskConfig, train: TrainConfig, run_dir: Path, agent_cfg: Any = None) -> Any:
    """The trainer's demo loader for ``train.demos`` (recording scripted demos first for ``auto``).

    For residual RL every demo state is relabelled with the base policy's action (``base_action``)."""
    demos = resolve_demos(task, train, run_dir)
    if demos is None:
        return None
    base = load_base_policy(agent_cfg, task)
    relabel = None if base is None else (lambda frame: {BASE_ACTION_KEY: base(frame)})
    return partial(_load_demos, demos, task.action_dims, train.num_demos, relabel)


def load_base_policy(agent_cfg: Any, task: TaskConfig) -> Callable[[dict], np.ndarray] | None:
    """Residual RL's frozen base, ``policy(flat_obs) -> action``: a BC folder or ``expert:<name>``."""
    if not isinstance(agent_cfg, ResidualConfig):
        return None
    source = agent_cfg.base_policy
    if not source:
        raise ConfigError(
            "agent=residual needs agent.base_policy: a BC policy folder (robot-rl train-bc) or expert:<name>"
        )
    if source.startswith("expert:"):
        from sim.experts import make_expert

        expert = make_expert(source.removeprefix("expert:"), task.action_scale, task.action_dims)
        return lambda flat: expert(unflatten_obs(flat))
    return BCPolicy(source)


def agent_state_keys(task: TaskConfig, agent_cfg: Any) -> list[str] | None:
    """The learner's state keys: the task's, plus the base action for residual RL."""
    if isinstance(agent_cfg, ResidualConfig) and task.state_keys:
        return [*task.state_keys, BASE_ACTION_KEY]
    return task.state_keys


def make_operator(cfg: DictConfig, task: TaskConfig, seed: int) -> Any:
    """The configured intervening operator (``intervention`` config group), or None without one."""
    if cfg.mode is None:
        return None
    if cfg.operator == "intervener":
        if task.expert is None:
            raise ConfigError(
                f"intervention.operator=intervener needs a task with a scripted expert; {task.name} has none "
                "(use intervention.operator=device)"
            )
        from sim.experts import make_expert
        from sim.intervener import IntervenerConfig, SimulatedIntervener

        settings = {**cfg.intervener, "seed": seed}
        intervener = to_dataclass(IntervenerConfig, settings, "intervention.intervener")
        expert = make_expert(task.expert, task.action_scale)
        return SimulatedIntervener(expert, intervener, task.action_dims)
    if cfg.operator == "device":
        from drivers.teleop import load_device
        from drivers.teleop.operator import DeviceOperator

        return DeviceOperator(load_device(cfg.device))
    raise ConfigError(f"intervention.operator={cfg.operator!r} is not one of ['intervener', 'device']")


def load_reward_classifier(train: TrainConfig) -> Any:
    """The trained success classifier of ``train.reward_classifier``, or None for the task's reward."""
    if not train.reward_classifier:
        return None
    from robot_rl.rewards import RewardClassifier

    return RewardClassifier.load(train.reward_classifier)


def agent_env_options(task: TaskConfig, agent_cfg: AgentConfig, safety: SafetyConfig | None) -> dict:
    """The ``make_env`` options every env the agent acts in needs (trainer, actor node): the shield, the
    gripper command of a gripper critic, the base action of residual RL."""
    return dict(
        gripper_stay=getattr(agent_cfg, "gripper_critic", False),
        safety=safety,
        base_action=load_base_policy(agent_cfg, task),
    )


def make_trainer(
    task: TaskConfig,
    agent_cfg: AgentConfig,
    train: TrainConfig,
    run_dir: Path,
    safety: SafetyConfig | None = None,
    intervention: DictConfig | None = None,
    with_operator: bool = True,
    **kwargs: Any,
) -> Trainer:
    """The single-process trainer for a task (used by train, eval and the learner node), its envs behind
    the shield; with an ``intervention`` mode its training env has the configured operator."""
    env_options = agent_env_options(task, agent_cfg, safety)
    env_factory = partial(make_env, task, **env_options)
    if intervention is not None and intervention.mode is not None:
        kwargs["intervention_mode"] = intervention.mode
        kwargs["interventions_to_demos"] = intervention.to_demos
        if with_operator:  # a learner node stores what its actors' operators did; it has none itself
            kwargs["operator"] = make_operator(intervention, task, train.seed)
    kwargs["reward_classifier"] = load_reward_classifier(train)
    if train.conservative_floor > 0 and task.expert:
        from sim.experts import make_expert

        kwargs["baseline"] = make_expert(task.expert, task.action_scale, task.action_dims)
    if policy_view(task) != task:
        kwargs["make_eval_env"] = partial(make_env, policy_view(task), **env_options)
    return Trainer(
        env_factory,
        agent_cfg,
        train,
        run_dir,
        state_keys=agent_state_keys(task, agent_cfg),
        cameras=task.policy_cameras,
        **kwargs,
    )


def policy_view(task: TaskConfig) -> TaskConfig:
    """The task rendering only the cameras the policy sees (``task.policy_cameras``): for evaluation and
    scripted demos, which need no camera that is there only for a reward classifier."""
    if task.policy_cameras is None:
        return task
    return replace(task, cameras=list(task.policy_cameras), images=task.images and bool(task.policy_cameras))


def trainer_from_config(cfg: DictConfig, config_yaml: str, with_operator: bool = True) -> Trainer:
    """The trainer of a composed ``configs/train.yaml`` (the train command, the learner node) with its
    demos; ``with_operator=False`` for a learner whose actors bring the operator."""
    task, agent_cfg = task_config(cfg.task), agent_config(cfg.agent)
    train: TrainConfig = to_dataclass(TrainConfig, cfg.train, "train")
    run_dir = Path(cfg.run_dir)
    return make_trainer(
        task,
        agent_cfg,
        train,
        run_dir,
        safety_config(cfg),
        cfg.intervention,
        with_operator=with_operator,
        demo_loader=demo_loader(task, train, run_dir, agent_cfg),
        config_yaml=config_yaml,
    )


def run(cfg: DictConfig) -> int:
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    (run_dir / "config.yaml").write_text(config_yaml)
    log.info("git %s, config:\n%s", git_sha(), config_yaml)

    trainer = trainer_from_config(cfg, config_yaml)
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


def _load_demos(path, action_dims, num_demos, relabel, make_buffer, spec):
    return load_demo_buffer(
        path, make_buffer, spec, action_dims=action_dims, num_demos=num_demos, relabel=relabel
    )

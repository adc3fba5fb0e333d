"""Runs a trained policy on a robot, no learning: `robot-rl deploy checkpoint=<folder> robot=<target>`.

`checkpoint` is an export folder (`robot-rl export`) or a training checkpoint folder. `robot=sim` runs
the policy's own MuJoCo task in this process (`dr=shifted` for a shifted variant); any other value is the
ROS namespace of a robot's topics (`sim_robot_node` as fake hardware, or `arm_driver_node` on a real
arm), stepped through `RosRobotEnv` at the robot's pace. The env is built as the actor builds it, behind
the safety shield (for a ROS robot without a configured `safety.workspace_*`, the box of the simulated
task the policy was trained on). The policy's observation/action spec is checked against the robot's
first: a mismatch stops with one error naming the keys. Writes deploy.json (success rate, cycle time,
shield trips) and deploy.mp4 where a camera exists.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig

from robot_rl.commands.train import agent_env_options, policy_view
from robot_rl.config import ConfigError, TaskConfig, task_on_target
from robot_rl.deploy import run_policy
from robot_rl.envs.make import make_env
from robot_rl.policy_export import check_robot, load_policy
from robot_rl.safety.config import SafetyConfig, safety_config

ROS_ROBOT = "robot_rl/RosRobot-v0"
#: `robot=` on the command line is this command's `target` (configs/robot/ is the drivers' profile group).
ARG_ALIASES = {"robot": "target"}


def target_task(task: TaskConfig, robot: str) -> TaskConfig:
    """The policy's task pointed at ``robot``: itself for ``sim``, else the same task over ROS topics."""
    if robot == "sim":
        if task.env_id == ROS_ROBOT:
            raise ConfigError(
                "this policy was trained on a ROS robot: pass robot=<its namespace, e.g. /robot>"
            )
        return task
    if not robot.startswith("/"):
        raise ConfigError(f"robot={robot!r}: use robot=sim or a ROS namespace such as robot=/robot")
    kwargs = dict(task.kwargs) if task.env_id == ROS_ROBOT else {}
    return replace(task, env_id=ROS_ROBOT, kwargs={**kwargs, "namespace": robot}, randomization={})


def shield_config(safety: SafetyConfig, trained: TaskConfig, task: TaskConfig) -> SafetyConfig:
    """A ROS robot has no box of its own: the simulated task's box fills the parts not configured (a
    configured ``workspace_high`` or ``rotation_limit`` stays, whether or not ``workspace_low`` is set)."""
    configured = (safety.workspace_low, safety.workspace_high, safety.rotation_limit)
    if task.env_id != ROS_ROBOT or trained.env_id == ROS_ROBOT or None not in configured:
        return safety
    sim = make_env(trained).unwrapped
    box = sim.tcp_target
    sim.close()
    own = (box.low.tolist(), box.high.tolist(), box.rotation_limit.tolist())
    low, high, limit = (mine if mine is not None else sim for mine, sim in zip(configured, own, strict=True))
    return replace(safety, workspace_low=low, workspace_high=high, rotation_limit=limit)


def run(cfg: DictConfig) -> int:
    if not cfg.checkpoint:
        raise ConfigError("pass checkpoint=<export folder (robot-rl export) or <run>/checkpoints/<name>>")
    policy = load_policy(cfg.checkpoint)
    trained = policy.task
    task = task_on_target(trained, cfg.get("task"))
    task = target_task(policy_view(task), str(cfg.target))
    safety = shield_config(safety_config(cfg), trained, task)
    render_mode = "rgb_array" if int(cfg.video_episodes) > 0 else None  # frames only where a camera exists
    env = make_env(task, render_mode=render_mode, **agent_env_options(task, policy.agent.cfg, safety))
    try:
        check_robot(policy, env)
        report, frames = run_policy(
            env, policy, int(cfg.episodes), seed=int(cfg.seed), realtime=bool(cfg.realtime),
            video_episodes=int(cfg.video_episodes),
        )  # fmt: skip
    finally:
        env.close()
    default_out = Path(cfg.checkpoint).resolve().parent / f"deploy_{str(cfg.target).strip('/') or 'robot'}"
    out = Path(cfg.out_dir) if cfg.out_dir else default_out
    out.mkdir(parents=True, exist_ok=True)
    video = None
    if frames:
        from robot_rl.video import write_mp4

        video = str(write_mp4(out / "deploy.mp4", frames, fps=task.control_hz))
    report = {**report, "policy": policy.source, "robot": str(cfg.target), "env_id": task.env_id,
              "randomization": task.randomization, "video": video}  # fmt: skip
    (out / "deploy.json").write_text(json.dumps(report, indent=1))
    cycle = report["cycle_time_ms"]
    print(
        f"success rate {report['success_rate']:.0%} over {report['episodes']} episodes on {cfg.target}; "
        f"cycle time {cycle['mean']:.1f} ms (p95 {cycle['p95']:.1f}); shield trips "
        f"{report['shield_trips'] or 'none'}\nreport: {out / 'deploy.json'}\nvideo: {video}"
    )
    return 0

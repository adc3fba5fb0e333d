"""Runs the task's scripted expert for a few episodes. With a display (and a MuJoCo task) it opens the
interactive MuJoCo viewer; headless, it writes an MP4 of the front camera and prints its path.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
from omegaconf import DictConfig

from robot_rl.config import ConfigError, task_config
from robot_rl.envs.make import make_env
from robot_rl.video import write_mp4

log = logging.getLogger(__name__)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(cfg: DictConfig) -> int:
    task = task_config(cfg.task)
    if task.expert is None:
        raise ConfigError(f"task {task.name!r} has no scripted expert to show (task.expert is null)")
    from sim.experts import make_expert

    interactive = has_display() if cfg.interactive == "auto" else bool(cfg.interactive)
    env = make_env(task, render_mode=None if interactive else "rgb_array", render_size=int(cfg.video_size))
    expert = make_expert(task.expert, env.unwrapped.action_scale, task.action_dims)
    try:
        if interactive:
            return _run_viewer(env, expert, cfg)
        return _write_video(env, expert, cfg)
    finally:
        env.close()


def _episodes(env, expert, cfg: DictConfig, on_step) -> list[bool]:
    successes = []
    for i in range(int(cfg.episodes)):
        obs, info = env.reset(seed=int(cfg.seed) + i)
        on_step()
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(expert(obs))
            on_step()
        successes.append(bool(info["success"]))
        log.info("episode %d: %s", i, "success" if info["success"] else "failure")
    return successes


def _write_video(env, expert, cfg: DictConfig) -> int:
    frames: list[np.ndarray] = []
    successes = _episodes(env, expert, cfg, lambda: frames.append(env.render()))
    path = write_mp4(cfg.output, frames, fps=env.unwrapped.control_hz)
    print(f"{sum(successes)}/{len(successes)} episodes succeeded; video: {path}")
    return 0


def _run_viewer(env, expert, cfg: DictConfig) -> int:
    base = env.unwrapped
    if not hasattr(base, "model"):
        raise ConfigError("the interactive viewer needs a MuJoCo task; run with interactive=false for an MP4")
    import mujoco.viewer

    with mujoco.viewer.launch_passive(base.model, base.data) as viewer:

        def sync() -> None:
            viewer.sync()
            time.sleep(base.period_s)

        successes = _episodes(env, expert, cfg, sync)
    print(f"{sum(successes)}/{len(successes)} episodes succeeded")
    return 0

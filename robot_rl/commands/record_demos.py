"""Records teleoperated demonstrations to HDF5 (robomimic layout, robot_rl/data/layout.py), one episode at
a time: every episode is flushed to disk when it ends, so a crash or kill loses at most the one in progress.

  robot-rl record-demos task=pick_cube device=keyboard n=10
  robot-rl record-demos task=real_arm device=teleop_topic out=data/teleop_real_arm.hdf5   # over ROS 2

The operator drives every step with the device (configs/device/<device>.yaml, its fields overridable as
device.<field>=...; `python -m drivers.teleop <device>` shows what it reads) through the safety shield.
The device's buttons end an episode: *success* keeps it with reward 1 on its last step (terminated),
*failure* ends it as a failure, *discard* drops it and starts the next one. An episode also ends when the
task reports success or at the time limit. With keep=success only successful episodes are written;
keep=all writes failures too (attribute success=False). It stops when n episodes are kept or after
max_episodes in all. Each episode stores attributes success, seed, device and mark (success, failure or
none) and is_intervention=True on every step (a human chose each action). With a display, simulated tasks
open a viewer window. Export the file to a rosbag2 with `robot-rl export-bag`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from robot_rl.commands.collect_demos import _env_meta
from robot_rl.commands.view import has_display
from robot_rl.config import ConfigError, TaskConfig, task_config
from robot_rl.data.writer import EpisodeWriter, writer_mode
from robot_rl.envs.make import make_env
from robot_rl.envs.pacing import Pacer
from robot_rl.safety.config import safety_config

log = logging.getLogger(__name__)
KEEP = ("success", "all")


def run(cfg: DictConfig) -> int:
    from drivers.teleop import make_device

    task = task_config(cfg.task)
    out = Path(str(cfg.out))
    if cfg.keep not in KEEP:
        raise ConfigError(f"keep={cfg.keep!r} is not one of {list(KEEP)}")
    mode = writer_mode(out, cfg.if_exists)
    n = int(cfg.n)
    if n < 1:
        raise ConfigError(f"n={n} must be >= 1 (episodes to keep)")
    render = "human" if cfg.window and has_display() and task.env_id != "robot_rl/RosRobot-v0" else None
    env = make_env(task, safety=safety_config(cfg), render_mode=render)
    device = make_device(cfg.device)
    recorder = Recorder(env, device, task, realtime=bool(cfg.realtime))
    kept = attempts = 0
    try:
        with EpisodeWriter(out, _env_meta(task, env), mode=mode) as writer:
            bar = tqdm(total=n, desc=f"record-demos {task.name}", unit="episode")
            while kept < n and attempts < int(cfg.max_episodes):
                seed = int(cfg.seed) + attempts
                attempts += 1
                episode, attrs = recorder.episode(seed)
                outcome = "discarded" if episode is None else "success" if attrs["success"] else "failure"
                if episode is not None and (attrs["success"] or cfg.keep == "all"):
                    name = writer.add_episode(**episode, attrs={**attrs, "device": str(cfg.device.type)})
                    kept += 1
                    bar.update(1)
                    outcome += f", kept as {name}"
                bar.write(f"episode {attempts} (seed {seed}): {outcome}")
            bar.close()
    finally:
        device.close()
        env.close()
    print(f"kept {kept} of {attempts} episodes in {out}")
    if kept < n:
        print(f"robot-rl record-demos: stopped at max_episodes={attempts} with {kept}/{n} kept; "
              "run again (if_exists=append adds to the file) or raise max_episodes")  # fmt: skip
        return 1
    return 0


class Recorder:
    """Runs episodes driven by a teleop device; returns them as ``EpisodeWriter.add_episode`` keywords."""

    def __init__(self, env: gym.Env, device: Any, task: TaskConfig, realtime: bool = True) -> None:
        self.env, self.device = env, device
        self.dims = list(task.action_dims) if task.action_dims is not None else None
        self.pacer = Pacer(env, task.control_hz, realtime)

    def episode(self, seed: int) -> tuple[dict[str, list] | None, dict[str, Any]]:
        """One episode; ``(None, attrs)`` when the operator discarded it."""
        obs, info = self.env.reset(seed=seed)
        self.device.forget_events()  # a mark made while the arm reset belongs to no episode
        episode: dict[str, list] = {"obs": [obs], "actions": [], "rewards": [], "terminated": [],
                                    "truncated": [], "is_intervention": []}  # fmt: skip
        mark = "none"
        self.pacer.restart()
        while True:
            state = self.device.read()
            if "discard" in state.events:
                return None, {"seed": seed}
            action = np.asarray(state.action, dtype=np.float32)
            action = action[self.dims] if self.dims is not None else action
            obs, reward, terminated, truncated, info = self.env.step(action)
            marked = state.events & {"success", "failure"}
            if marked:  # the operator's verdict ends the episode; a success is the task's reward
                mark = "success" if "success" in marked else "failure"
                reward, terminated = (1.0, True) if mark == "success" else (reward, terminated)
                truncated = truncated or not terminated
            for key, value in zip(episode, (obs, action, reward, terminated, truncated, True), strict=True):
                episode[key].append(value)
            if terminated or truncated:
                success = mark == "success" or (mark == "none" and bool(info.get("success", False)))
                return episode, {"success": success, "seed": seed, "mark": mark}
            self.pacer.wait()

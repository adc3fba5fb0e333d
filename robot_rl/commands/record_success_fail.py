"""Records camera frames labelled success or failure to HDF5 (layout: robot_rl/rewards/dataset.py), the
training data of `robot-rl train-classifier`. Every frame of an episode is stored, the reset frame
included, with the env's proprioception (obs["state"]); a file is flushed after every episode.

  robot-rl record-success-fail                                  # PandaPickCube, 64 px front + wrist
  robot-rl record-success-fail episodes=10 out=data/sf_small.hdf5 task.cameras=[front]
  robot-rl record-success-fail task=real_arm device=spacemouse task.max_episode_steps=300  # a robot

labels=task (auto picks it in simulation): each frame is labelled with the task's ground truth,
info["success"]. Episodes do not end on success (task.terminate_on_success=false), so success frames
keep coming until the time limit. For each of `episodes` seeds, one episode per entry of `policies`:
  expert  the task's scripted expert: failure frames until it succeeds, success frames after
  stall   the expert from the same start, handing over to a hold with small jitter `stall_offset` steps
          after the step where the expert succeeded (-1: the step before): hard negatives, the frames
          just short of success
  noisy   the expert with Gaussian noise (noise_std) on every action: off-path frames of both classes
  miss    the expert aiming `miss_distance` metres (uniform in the range, random direction) beside the
          object: it closes on nothing and tries again, failure frames of an empty closed gripper
  random  uniform random actions: failure frames far from success, the gripper closed anywhere

labels=device (auto picks it for robot_rl/RosRobot-v0): the operator drives the arm with the teleop
device (configs/device/<device>.yaml) through the safety shield and labels with its buttons. *success*
labels the frame on screen and every later one as success, *failure* switches back to failure frames,
*discard* drops the episode. Every episode starts as failure and runs to the time limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from robot_rl.commands.collect_demos import _env_meta
from robot_rl.config import ConfigError, TaskConfig, task_config
from robot_rl.data.writer import writer_mode
from robot_rl.envs.make import make_env
from robot_rl.envs.pacing import Pacer
from robot_rl.rewards.dataset_writer import FrameWriter
from robot_rl.safety.config import safety_config

log = logging.getLogger(__name__)
POLICIES = ("expert", "stall", "noisy", "miss", "random")
LABELS = ("auto", "task", "device")
ROBOT_ENV = "robot_rl/RosRobot-v0"

Episode = tuple[list[dict[str, Any]], list[bool]]  # observations, one label each


def run(cfg: DictConfig) -> int:
    task = task_config(cfg.task)
    if not task.images or not task.cameras:
        raise ConfigError("a reward classifier learns from images: set task.images=true and task.cameras")
    labels = str(cfg.labels)
    if labels not in LABELS:
        raise ConfigError(f"labels={labels!r} is not one of {list(LABELS)}")
    if labels == "auto":
        labels = "device" if task.env_id == ROBOT_ENV else "task"
    episodes = int(cfg.episodes)
    if episodes < 1:
        raise ConfigError(f"episodes={episodes} must be >= 1")
    out = Path(str(cfg.out))
    mode = writer_mode(out, str(cfg.if_exists))
    env, device = make_env(task, safety=safety_config(cfg)), None
    run_episode: Callable[[int, str], Episode | None]
    try:  # everything that can fail on a setting comes before the output file is created
        if labels == "task":
            sim = SimEpisodes(env, task, cfg)
            schedule, run_episode = sim.schedule(int(cfg.seed), episodes), sim.episode
        else:
            from drivers.teleop import make_device

            device = make_device(cfg.device)
            operator = DeviceEpisodes(env, device, task, realtime=bool(cfg.realtime))
            schedule = [(int(cfg.seed) + i, "device") for i in range(episodes)]
            run_episode = operator.episode
        state_keys = sorted(env.observation_space["state"].spaces)
        meta = _env_meta(task, env)
        with FrameWriter(out, meta, task.cameras, task.image_size, state_keys, mode) as writer:
            frames, positives = record(writer, schedule, run_episode)
    finally:
        if device is not None:
            device.close()
        env.close()
    print(f"wrote {frames} frames ({positives} success, {frames - positives} failure) to {out}")
    return 0


def record(
    writer: FrameWriter, schedule: list[tuple[int, str]], run_episode: Callable[[int, str], Episode | None]
) -> tuple[int, int]:
    """Run ``run_episode(seed, policy) -> Episode | None`` for each entry and write the episodes.

    :returns: (frames written, success frames written)
    """
    frames = positives = 0
    with tqdm(schedule, desc="record-success-fail", unit="episode") as bar:
        for seed, policy in bar:
            episode = run_episode(seed, policy)
            if episode is None:
                bar.write(f"episode (seed {seed}) discarded")
                continue
            observations, labels = episode
            writer.add_episode(
                {c: np.stack([o["images"][c] for o in observations]) for c in writer.cameras},
                {k: np.stack([np.ravel(o["state"][k]) for o in observations]) for k in writer.state_keys},
                labels,
                seed,
                policy,
            )
            frames, positives = frames + len(labels), positives + int(np.sum(labels))
            bar.set_postfix(frames=frames, success=f"{positives / frames:.0%}")
    return frames, positives


class SimEpisodes:
    """Episodes of the ``policies`` mix in simulation, labelled with the task's ``info["success"]``."""

    def __init__(self, env: gym.Env, task: TaskConfig, cfg: DictConfig) -> None:
        from sim.experts import make_expert, shift_objects

        if task.expert is None:
            raise ConfigError(
                f"task {task.name!r} has no scripted expert (task.expert is null); "
                "record on the robot with labels=device"
            )
        self.policies = [str(p) for p in cfg.policies]
        unknown = sorted(set(self.policies) - set(POLICIES))
        if unknown or not self.policies:
            raise ConfigError(f"policies={self.policies} must be a non-empty list of {list(POLICIES)}")
        self.shift_objects = shift_objects
        self.env, self.expert = env, make_expert(task.expert, env.unwrapped.action_scale, task.action_dims)
        dims = list(task.action_dims) if task.action_dims is not None else list(range(7))
        self.gripper = dims.index(6) if 6 in dims else None  # index of the gripper in the env's action
        self.stall_offset = (int(cfg.stall_offset[0]), int(cfg.stall_offset[1]))
        self.noise_std, self.hold_jitter = float(cfg.noise_std), float(cfg.hold_jitter)
        self.miss_distance = (float(cfg.miss_distance[0]), float(cfg.miss_distance[1]))
        self.max_steps = task.max_episode_steps
        self._success_step: dict[int, int | None] = {}  # seed -> first success step of the expert

    def schedule(self, seed0: int, seeds: int) -> list[tuple[int, str]]:
        return [(seed0 + i, policy) for i in range(seeds) for policy in self.policies]

    def episode(self, seed: int, policy: str) -> Episode:
        rng = np.random.default_rng([seed, POLICIES.index(policy)])
        stall_at = self._stall_step(seed, rng) if policy == "stall" else None
        aim = self._miss_offset(rng) if policy == "miss" else None
        obs, info = self.env.reset(seed=seed)
        observations, labels = [obs], [bool(info["success"])]
        action, done = None, False
        while not done:
            action = self._action(
                policy, obs, rng, stall=stall_at is not None and len(labels) > stall_at, last=action, aim=aim
            )
            obs, _, terminated, truncated, info = self.env.step(action)
            observations.append(obs)
            labels.append(bool(info["success"]))
            done = terminated or truncated
        if policy == "expert":
            self._success_step[seed] = labels.index(True) if any(labels) else None
        return observations, labels

    def _action(
        self, policy: str, obs: dict, rng: np.random.Generator, stall: bool, last: Any, aim: Any
    ) -> np.ndarray:
        if policy == "random":
            return rng.uniform(-1.0, 1.0, self.env.action_space.shape).astype(np.float32)
        if stall:  # hold still (the gripper as last commanded), jittering a little
            action = rng.normal(0.0, self.hold_jitter, self.env.action_space.shape)
            if self.gripper is not None:
                action[self.gripper] = last[self.gripper]
            return np.clip(action, -1.0, 1.0).astype(np.float32)
        seen = obs if aim is None else self.shift_objects(obs, aim)  # a miss: the expert aims beside
        action = np.asarray(self.expert(seen), dtype=np.float32)
        if policy == "noisy":
            action = action + rng.normal(0.0, self.noise_std, action.shape)
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _miss_offset(self, rng: np.random.Generator) -> np.ndarray:
        """Where a miss aims, relative to the object: ``miss_distance`` away in a random direction."""
        angle, distance = rng.uniform(0.0, 2 * np.pi), rng.uniform(*self.miss_distance)
        return distance * np.array([np.cos(angle), np.sin(angle)])

    def _stall_step(self, seed: int, rng: np.random.Generator) -> int:
        """Index of the last frame the expert drives: its first success frame + ``stall_offset``."""
        if seed not in self._success_step:
            self.episode(seed, "expert")  # a dry run (not written) finds when the expert succeeds
        success_step = self._success_step[seed]
        if success_step is None:  # the expert never succeeded from here: hold from a random step
            return int(rng.integers(1, self.max_steps))
        return max(1, success_step + int(rng.integers(self.stall_offset[0], self.stall_offset[1] + 1)))


class DeviceEpisodes:
    """Episodes driven and labelled by an operator's teleop device (see the module docstring)."""

    def __init__(self, env: gym.Env, device: Any, task: TaskConfig, realtime: bool = True) -> None:
        self.env, self.device = env, device
        self.dims = list(task.action_dims) if task.action_dims is not None else None
        self.pacer = Pacer(env, task.control_hz, realtime)

    def episode(self, seed: int, policy: str = "device") -> Episode | None:
        """One episode to the time limit; None when the operator discarded it (``policy`` is unused)."""
        obs, _ = self.env.reset(seed=seed)
        self.device.forget_events()  # a mark made while the arm reset belongs to no episode
        observations, labels, label = [obs], [False], False
        done = False
        self.pacer.restart()
        while not done:
            state = self.device.read()
            if "discard" in state.events:
                return None
            if state.events & {"success", "failure"}:
                label = "success" in state.events  # both at once: success wins
                labels[-1] = label  # the mark is about the frame the operator is looking at
            action = np.asarray(state.action, dtype=np.float32)
            obs, _, terminated, truncated, _ = self.env.step(action[self.dims] if self.dims else action)
            observations.append(obs)
            labels.append(label)
            done = terminated or truncated
            self.pacer.wait()
        return observations, labels

"""Runs the task's scripted expert and records its episodes to an HDF5 file in the robomimic layout
(data/demo_N/{obs,next_obs,actions,rewards,dones,terminated,truncated,is_intervention}; the layout is
documented in robot_rl/data/layout.py). Every observation key the env gives is stored, privileged object
poses included, so a file serves as offline data for state-based training in simulation.

  robot-rl collect-demos task=pick_cube n=20
  robot-rl collect-demos task=peg_insert n=50 out=data/pegs.hdf5 if_exists=append seed=1000

Actions are stored in the env's action space (the task's action_dims, e.g. 4-D [dx, dy, dz, gripper]
for pick_cube), so replaying them through make_env(task) reproduces the episode.
Attempt i resets the env with seed + i; each episode stores attributes success, seed and expert. With
only_success=true failed attempts are dropped and new seeds tried until n episodes are written; if
max_attempts runs out first the command exits with status 1 and the episodes written so far stay in the
file. Read the file back with robot_rl.data.episodes.read_episodes.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from robot_rl.config import ConfigError, TaskConfig, task_config
from robot_rl.data.episodes import DatasetError, EpisodeWriter, read_episodes
from robot_rl.data.writer import writer_mode
from robot_rl.envs.intervention import executed_action
from robot_rl.envs.make import make_env

log = logging.getLogger(__name__)

Expert = Callable[[dict[str, Any]], np.ndarray]  # observation -> action in the env's action space


def run(cfg: DictConfig) -> int:
    task = task_config(cfg.task)
    if task.expert is None:
        raise ConfigError(f"task {task.name!r} has no scripted expert to record (task.expert is null)")
    n, max_attempts = _counts(cfg)
    out = Path(str(cfg.out))
    mode = writer_mode(out, cfg.if_exists)
    try:
        written, attempts, successes = collect_expert_demos(
            task,
            n,
            out,
            seed=int(cfg.seed),
            only_success=bool(cfg.only_success),
            max_attempts=max_attempts,
            mode=mode,
        )
    except DatasetError as err:
        raise ConfigError(str(err)) from None

    rate = f"{successes}/{attempts} expert attempts succeeded, {successes / attempts:.0%}"
    if written < n:
        print(
            f"robot-rl collect-demos: only {written}/{n} successful episodes after max_attempts={attempts} "
            f"({rate}); those written are in {out}. Raise max_attempts, or watch the expert with "
            f"`robot-rl view task={task.name}`",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {written} episodes to {out} ({rate})")
    return 0


def expert_demos_once(task: TaskConfig, n: int, out: Path, *, seed: int) -> Path:
    """``n`` successful scripted demos in ``out``, recorded on the first call; a later call (a resume)
    finds them. A short file (a recording cut short, or a larger ``n``) is an error naming the fix."""
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        written, _, _ = collect_expert_demos(task, n, out, seed=seed)
        if written < n:
            raise ConfigError(f"the scripted expert made only {written}/{n} successful demos for {task.name}")
        return out
    held = sum(1 for _ in read_episodes(out))
    if held < n:
        raise ConfigError(
            f"{out} holds {held} demos, fewer than the {n} asked for (an earlier recording was cut short, "
            "or the number was raised): delete it to record them again, or ask for fewer"
        )
    return out


def collect_expert_demos(
    task: TaskConfig,
    n: int,
    out: Path,
    *,
    seed: int = 0,
    only_success: bool = True,
    max_attempts: int | None = None,
    mode: str = "a",
) -> tuple[int, int, int]:
    """Record the task's scripted expert into ``out``.

    :returns: (episodes written, attempts, successful attempts)
    """
    from sim.experts import make_expert

    if max_attempts is None:
        max_attempts = 3 * n + 10 if only_success else n
    env = make_env(task)
    try:
        expert = make_expert(task.expert, env.unwrapped.action_scale, task.action_dims)
        with EpisodeWriter(out, _env_meta(task, env), mode=mode) as writer:
            return _collect(env, expert, writer, task, n, max_attempts, seed, only_success)
    finally:
        env.close()


def _counts(cfg: DictConfig) -> tuple[int, int]:
    n = int(cfg.n)
    if n < 1:
        raise ConfigError(f"n={n} must be >= 1 (episodes to write)")
    if cfg.max_attempts is None:
        return n, (3 * n + 10 if cfg.only_success else n)
    max_attempts = int(cfg.max_attempts)
    if max_attempts < n:
        raise ConfigError(f"max_attempts={max_attempts} is below n={n}; raise it or set max_attempts=null")
    return n, max_attempts


def _env_meta(task: TaskConfig, env: gym.Env) -> dict[str, Any]:
    """What a reader needs to rebuild the env (stored as the file's ``env_args``)."""
    return {
        "env_id": task.env_id,
        "task": dataclasses.asdict(task),
        "control_hz": float(env.unwrapped.control_hz),
        "action_scale": [float(x) for x in env.unwrapped.action_scale],
    }


def _collect(
    env: gym.Env,
    expert: Expert,
    writer: EpisodeWriter,
    task: TaskConfig,
    n: int,
    max_attempts: int,
    seed0: int,
    only_success: bool,
) -> tuple[int, int, int]:
    """Run attempts until n episodes are written or max_attempts ran.

    :returns: (episodes written, attempts, successful attempts)
    """
    written = attempts = successes = 0
    with tqdm(total=n, desc=f"collect-demos {task.name}", unit="episode") as bar:
        while written < n and attempts < max_attempts:
            seed = seed0 + attempts
            episode, success = _run_episode(env, expert, seed)
            attempts += 1
            successes += success
            if success or not only_success:
                name = writer.add_episode(
                    **episode, attrs={"success": success, "seed": seed, "expert": task.expert}
                )
                log.debug("%s: seed %d, %d steps, success=%s", name, seed, len(episode["actions"]), success)
                written += 1
                bar.update(1)
            bar.set_postfix(attempts=attempts, success=f"{successes / attempts:.0%}")
    return written, attempts, successes


def _run_episode(env: gym.Env, expert: Expert, seed: int) -> tuple[dict[str, Any], bool]:
    """One expert episode as ``EpisodeWriter.add_episode`` keywords, and whether it succeeded."""
    obs, info = env.reset(seed=seed)
    keys = ("obs", "actions", "rewards", "terminated", "truncated", "is_intervention")
    episode: dict[str, list] = {key: [] for key in keys}
    episode["obs"].append(obs)
    terminated = truncated = False
    while not (terminated or truncated):
        action = np.asarray(expert(obs), dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        action, intervened, _ = executed_action(action, info)  # an intervention may have replaced it
        for key, value in zip(keys, (obs, action, reward, terminated, truncated, intervened), strict=True):
            episode[key].append(value)
    return episode, bool(info["success"])

"""Trains a behaviour-cloning policy (an MLP, or an action-chunked MLP with bc.chunk=k) on HDF5 demos and
measures its success rate on the task. The folder it writes (policy.safetensors + policy.json) is a base
policy for residual RL: `robot-rl train agent=residual agent.base_policy=<out>`.

  robot-rl train-bc task=peg_insert num_demos=5
  robot-rl train-bc task=pick_cube demos=data/demos_pick_cube.hdf5 bc.chunk=4 out=runs/bc_chunked
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from robot_rl.agents.bc import BCConfig, BCPolicy, bc_dataset, save_bc, train_bc
from robot_rl.config import task_config, to_dataclass
from robot_rl.data.episodes import DatasetError, read_episodes
from robot_rl.data.layout import flatten_obs
from robot_rl.envs.make import make_env

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> int:
    task = task_config(cfg.task)
    bc_cfg: BCConfig = to_dataclass(BCConfig, cfg.bc, "bc")
    out = Path(str(cfg.out))
    demos = _demos(cfg, task, out)
    episodes = list(read_episodes(demos))[: int(cfg.num_demos)]
    if not episodes:
        raise DatasetError(f"{demos} holds no complete episode; record demos with `robot-rl collect-demos`")
    state_keys = list(task.state_keys) if task.state_keys else _all_vector_keys(episodes[0].obs)
    states, targets = bc_dataset(episodes, state_keys, task.action_dims, bc_cfg.chunk)
    with tqdm(total=bc_cfg.epochs, desc="train-bc", unit="epoch", mininterval=1.0) as bar:
        net, mean, std, losses = train_bc(
            states,
            targets,
            bc_cfg,
            progress=lambda loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4f}")),
        )
    save_bc(out, net, mean, std, state_keys, task.action_dims, bc_cfg,
            {"demos": str(demos), "num_demos": len(episodes), "task": task.name})  # fmt: skip
    _plot_loss(out / "bc_loss.png", losses)
    print(f"BC policy from {len(episodes)} demos ({len(states)} steps): {out}")
    if int(cfg.eval_episodes) > 0:
        rate = evaluate_policy(task, BCPolicy(out), int(cfg.eval_episodes), int(cfg.eval_seed))
        meta = json.loads((out / "policy.json").read_text())
        (out / "policy.json").write_text(json.dumps({**meta, "success_rate": rate}, indent=1))
        print(f"success rate {rate:.0%} over {cfg.eval_episodes} episodes")
    return 0


def evaluate_policy(task, policy, episodes: int, seed: int) -> float:
    """Success rate of ``policy(flat_obs)`` over ``episodes`` seeded episodes of the task."""
    env: gym.Env = make_env(task)
    successes = 0
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            done, info = False, {}
            while not done:
                obs, _, terminated, truncated, info = env.step(policy(flatten_obs(obs)))
                done = terminated or truncated
            successes += bool(info.get("success", False))
    finally:
        env.close()
    return successes / max(episodes, 1)


def _demos(cfg: DictConfig, task, out: Path) -> Path:
    if str(cfg.demos) != "auto":
        return Path(str(cfg.demos))
    from robot_rl.commands.collect_demos import expert_demos_once

    return expert_demos_once(task, int(cfg.num_demos), out / "demos.hdf5", seed=int(cfg.demo_seed))


def _all_vector_keys(obs: dict[str, np.ndarray]) -> list[str]:
    return sorted(k for k, v in obs.items() if np.asarray(v).dtype != np.uint8)


def _plot_loss(path: Path, losses: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.semilogy(losses)
    ax.set(xlabel="epoch", ylabel="MSE", title="behaviour cloning loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

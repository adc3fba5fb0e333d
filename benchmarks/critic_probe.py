"""Does a trained critic rank the scripted expert's correction of a base policy above the base's action?

A diagnostic for residual RL on PandaPegInsert (docs/benchmarks.md, "Residual RL: what was measured").
It rolls out the base policy (deterministic, ``--episodes`` evaluation seeds). On every state where the
scripted expert's action differs from the base's by more than 0.02, it clips the difference to the
residual's reach (``--reach``) and compares the critic (mean over the ensemble) at the base action and at
the corrected one, and the direction of dQ/da at the base action with the correction's.

Run from the repository root with the project venv, on a residual run or an RLPD run of the same task::

    .venv/bin/python benchmarks/critic_probe.py --run <run folder> --base <BC folder>

Prints the share of states where Q prefers the correction (0.5 is chance) and the mean cosine between
dQ/da and the correction (0 is uninformative).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from robot_rl.agents import agent_config, make_agent
from robot_rl.agents.bc import BCPolicy
from robot_rl.checkpoint import load_checkpoint
from robot_rl.commands.train import agent_state_keys
from robot_rl.config import task_config
from robot_rl.data.layout import flatten_obs, unflatten_obs
from robot_rl.envs.make import make_env
from robot_rl.obs import ObsSpec
from sim.experts import make_expert


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="run folder (config.yaml, checkpoints/final)")
    parser.add_argument(
        "--base", type=Path, required=True, help="the BC base policy folder (robot-rl train-bc)"
    )
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--reach", type=float, default=0.1, help="largest correction per dimension")
    args = parser.parse_args()
    cfg = OmegaConf.load(args.run / "config.yaml")
    task, agent_cfg = task_config(cfg.task), agent_config(cfg.agent)
    base = BCPolicy(args.base)
    env = make_env(task, base_action=base)  # base_action in the observation; RLPD's critic ignores it
    spec = ObsSpec.from_space(env.observation_space, agent_state_keys(task, agent_cfg), task.policy_cameras)
    agent = make_agent(spec, int(np.prod(env.action_space.shape)), agent_cfg)
    load_checkpoint(args.run / "checkpoints" / "final", agent)
    expert = make_expert(task.expert, task.action_scale, task.action_dims)
    prefers, cosines = [], []
    for episode in range(args.episodes):
        obs, _ = env.reset(seed=10_000_000 + episode)
        done = False
        while not done:
            flat = flatten_obs(obs)
            base_action = np.asarray(flat["base_action"], dtype=np.float32)
            correction = np.clip(
                np.asarray(expert(unflatten_obs(flat))) - base_action, -args.reach, args.reach
            )
            if np.linalg.norm(correction) > 0.02:
                features = agent.critic.encoder(spec.batch_of_one(flat)).detach()
                action = torch.tensor(base_action[None], requires_grad=True)
                q_base = agent.critic.forward_features(features, action).mean()
                q_base.backward()
                grad = action.grad[0].numpy()
                corrected = torch.as_tensor(
                    np.clip(base_action + correction, -1.0, 1.0)[None], dtype=torch.float32
                )
                with torch.no_grad():
                    q_corrected = agent.critic.forward_features(features, corrected).mean().item()
                prefers.append(q_corrected > q_base.item())
                cosines.append(grad @ correction / (np.linalg.norm(grad) * np.linalg.norm(correction) + 1e-9))
            obs, _, terminated, truncated, _ = env.step(base_action)
            done = terminated or truncated
    print(f"{args.run}: {len(prefers)} states; Q prefers the expert's correction on {np.mean(prefers):.0%}; "
          f"mean cos(dQ/da, correction) {np.mean(cosines):+.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

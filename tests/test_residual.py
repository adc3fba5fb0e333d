"""Residual RL: the start is exactly the base, the residual stays within its scale, resume is exact, and
BC trains a base policy from demos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from robot_rl.agents import agent_config
from robot_rl.agents.bc import BCConfig, BCPolicy, bc_dataset, chunk_targets, save_bc, train_bc
from robot_rl.agents.residual import BASE_ACTION_KEY, ResidualAgent, ResidualConfig
from robot_rl.buffers import Batch
from robot_rl.cli import main
from robot_rl.commands.train import make_trainer
from robot_rl.config import load_config, task_config, to_dataclass
from robot_rl.data.episodes import read_episodes
from robot_rl.loop import TrainConfig
from robot_rl.obs import ObsSpec

STATE = 5
ACTIONS = 3


def agent(**cfg) -> ResidualAgent:
    space = gym.spaces.Dict(
        {
            "state": gym.spaces.Box(-10, 10, (STATE,), np.float32),
            BASE_ACTION_KEY: gym.spaces.Box(-1, 1, (ACTIONS,), np.float32),
        }
    )
    spec = ObsSpec.from_space(space)
    return ResidualAgent(spec, ACTIONS, ResidualConfig(base_warmup_steps=0, **cfg), seed=0)


def observation(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "state": rng.normal(0, 5, STATE).astype(np.float32),
        BASE_ACTION_KEY: rng.uniform(-1, 1, ACTIONS).astype(np.float32),
    }


@pytest.mark.parametrize("algorithm", ["td3", "sac"])
def test_step_zero_executes_exactly_the_base_action(algorithm: str) -> None:
    a, rng = agent(algorithm=algorithm), np.random.default_rng(0)
    for _ in range(20):
        obs = observation(rng)
        assert np.array_equal(a.act(obs, deterministic=True), obs[BASE_ACTION_KEY])
    warm = ResidualAgent(a.spec, ACTIONS, ResidualConfig(base_warmup_steps=5, base_noise=0.1), seed=0)
    obs = observation(rng)
    assert np.max(np.abs(warm.act(obs) - obs[BASE_ACTION_KEY])) < 0.5  # warm-up: base + small noise


@pytest.mark.parametrize("algorithm", ["td3", "sac"])
@pytest.mark.parametrize("scale", [[0.2], [0.1, 0.2, 0.6]])
def test_residual_never_exceeds_its_scale(algorithm: str, scale: list[float]) -> None:
    a, rng = agent(algorithm=algorithm, residual_scale=scale), np.random.default_rng(1)
    with torch.no_grad():
        for p in a.actor.parameters():  # a wildly trained residual
            p.normal_(0.0, 5.0)
    biggest = np.zeros(ACTIONS)
    for deterministic in (True, False):
        for _ in range(200):
            obs = observation(rng)
            executed = a.act(obs, deterministic=deterministic)
            step = np.abs(executed - obs[BASE_ACTION_KEY])
            assert np.all(step <= np.asarray(scale) + 1e-6)
            assert np.all(np.abs(executed) <= 1.0)
            biggest = np.maximum(biggest, step)
    assert np.all(biggest > 0.9 * np.asarray(scale))  # each dimension uses its own bound, not the smallest


def test_residual_scale_is_one_value_or_one_per_action_dimension() -> None:
    cfg = agent_config(OmegaConf.create({"name": "residual", "residual_scale": 0.5}))  # the CLI's scalar
    assert cfg.residual_scale == [0.5]
    with pytest.raises(ValueError, match="2 values for 3 action dimensions"):
        agent(residual_scale=[0.3, 0.6])


def test_updates_train_the_critic_first_then_the_actor() -> None:
    a, rng = agent(critic_warmup_updates=3, actor_delay=1), np.random.default_rng(2)
    obs = [observation(rng) for _ in range(32)]
    stack = {k: torch.as_tensor(np.stack([o[k] for o in obs])) for k in ("state", BASE_ACTION_KEY)}
    batch = Batch(
        obs=stack, actions=torch.as_tensor(rng.uniform(-1, 1, (32, ACTIONS)).astype(np.float32)),
        rewards=torch.ones(32), discounts=torch.full((32,), 0.99), next_obs=stack,
        from_demos=torch.zeros(32, dtype=torch.bool),
    )  # fmt: skip
    before = [p.clone() for p in a.actor.parameters()]
    for _ in range(3):
        assert "train/actor_loss" not in a.update(batch)
    assert all(torch.equal(x, y) for x, y in zip(before, a.actor.parameters(), strict=True))
    assert "train/actor_loss" in a.update(batch)


def test_bc_term_pulls_the_executed_action_towards_the_demo_within_the_scale() -> None:
    a = agent(critic_warmup_updates=0, actor_delay=1, bc_weight=10.0, bc_q_filter=False,
              residual_penalty=0.0, q_weight=0.0, actor_lr=1e-3, residual_scale=0.3)  # fmt: skip
    rng = np.random.default_rng(3)
    obs = [observation(rng) for _ in range(64)]
    stack = {k: torch.as_tensor(np.stack([o[k] for o in obs])) for k in ("state", BASE_ACTION_KEY)}
    demo = (stack[BASE_ACTION_KEY] + 0.2).clamp(-1, 1)  # the demonstrator does a bit more than the base
    batch = Batch(obs=stack, actions=demo, rewards=torch.zeros(64), discounts=torch.full((64,), 0.99),
                  next_obs=stack, from_demos=torch.ones(64, dtype=torch.bool))  # fmt: skip

    def error() -> float:
        return float(
            np.mean([np.abs(a.act(o, True) - d.numpy()).mean() for o, d in zip(obs, demo, strict=True)])
        )

    before = error()
    for _ in range(150):
        metrics = a.update(batch)
    assert metrics["train/bc_kept"] == 1.0 and error() < 0.3 * before


def test_bc_fits_chunks_and_loads_as_a_callable_policy(tmp_path) -> None:
    assert chunk_targets(np.arange(4.0)[:, None], 3)[:, :, 0].tolist() == [
        [0, 1, 2],
        [1, 2, 3],
        [2, 3, 3],
        [3, 3, 3],
    ]
    rng = np.random.default_rng(0)
    states = rng.normal(size=(256, 4)).astype(np.float32)
    targets = np.tanh(states[:, None, :2] * 0.5).repeat(2, axis=1)  # (N, chunk=2, A=2)
    cfg = BCConfig(chunk=2, epochs=150, hidden_dims=[64, 64])
    net, mean, std, losses = train_bc(states, targets, cfg)
    assert losses[-1] < 0.1 * losses[0]
    save_bc(tmp_path / "bc", net, mean, std, ["s"], None, cfg)
    policy = BCPolicy(tmp_path / "bc")
    action = policy({"s": states[0]})
    assert action.shape == (2,) and np.allclose(action, targets[0, 0], atol=0.15)
    states[:, 3] = 0.25  # a feature constant in the demos: 2 mm of noise on it must stay small
    _, _, std, _ = train_bc(states, targets, BCConfig(chunk=2, epochs=1))
    assert 0.002 / std[3] < 0.25  # 0.2 standard deviations (the floor: 1 cm), not thousands


def test_train_bc_cli_makes_a_base_that_residual_training_runs_on(tmp_path) -> None:
    bc = tmp_path / "bc"
    args = ["train-bc", "task=peg_insert", "num_demos=3", "bc.epochs=20", "eval_episodes=2", f"out={bc}"]
    assert main(args) == 0
    meta = json.loads((bc / "policy.json").read_text())
    assert meta["num_demos"] == 3 and 0.0 <= meta["success_rate"] <= 1.0
    episodes = list(read_episodes(bc / "demos.hdf5"))
    states, targets = bc_dataset(episodes, meta["state_keys"], [0, 1, 2], 1)
    assert states.shape[0] == targets.shape[0] == sum(len(ep.actions) for ep in episodes)
    run = tmp_path / "run"
    assert main([
        "train", "task=peg_insert", "agent=residual", f"agent.base_policy={bc}",
        f"train.demos={bc / 'demos.hdf5'}",
        "train.total_env_steps=150", "train.learning_starts=50", "train.batch_size=16", "train.eval_every=0",
        "train.eval_episodes=1", "train.video_episodes=0", "agent.critic_warmup_updates=20",
        "agent.base_warmup_steps=30", "agent.hidden_dims=[32,32]", f"run_dir={run}",
    ]) == 0  # fmt: skip
    assert json.loads((run / "summary.json").read_text())["env_steps"] == 150
    # The export carries the base: it deploys after the BC folder is gone (another machine)
    export = tmp_path / "export"
    assert main(["export", f"checkpoint={run / 'checkpoints' / 'final'}", f"out={export}"]) == 0
    assert sorted(p.name for p in (export / "base_policy").iterdir()) == ["policy.json", "policy.safetensors"]
    shutil.rmtree(bc)
    deployed = tmp_path / "deployed"
    args = ["deploy", f"checkpoint={export}", "episodes=1", "video_episodes=0", f"out_dir={deployed}"]
    assert main(args) == 0
    assert json.loads((deployed / "deploy.json").read_text())["episodes"] == 1


def test_residual_resume_restores_weights_optimisers_and_schedules(tmp_path) -> None:
    overrides = [
        "task=peg_insert", "agent=residual", "agent.base_policy=expert:peg_insert", "train.num_demos=2",
        "train.total_env_steps=200", "train.learning_starts=50", "train.batch_size=16",
        "agent.critic_warmup_updates=40", "agent.base_warmup_steps=60", "agent.hidden_dims=[32,32]",
        "train.eval_every=0", "train.eval_episodes=1", "train.video_episodes=0",
    ]  # fmt: skip
    cfg = load_config("train", overrides)
    task, agent_cfg = task_config(cfg.task), agent_config(cfg.agent)
    train = to_dataclass(TrainConfig, cfg.train, "train")
    first = make_trainer(task, agent_cfg, train, Path(tmp_path / "a"))
    first.run()
    saved = first.run_dir / "checkpoints" / "final"
    second = make_trainer(task, agent_cfg, train, Path(tmp_path / "b"))
    second.resume(saved)
    for (name, x), (_, y) in zip(
        first.agent.state_dict().items(), second.agent.state_dict().items(), strict=True
    ):
        assert torch.equal(x, y), name
    assert second.agent.explore_steps == first.agent.explore_steps > 60
    assert second.agent.num_updates == first.agent.num_updates
    assert second.env_steps == 200 and len(second.online) == len(first.online)
    a_opt, b_opt = first.agent.actor_opt.state_dict(), second.agent.actor_opt.state_dict()
    assert all(
        torch.equal(a_opt["state"][k]["exp_avg"], b_opt["state"][k]["exp_avg"]) for k in a_opt["state"]
    )

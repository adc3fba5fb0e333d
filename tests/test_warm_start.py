"""WSRL warm start (train.init_from): the source agent is loaded, the critic learns alone during the
warm-up, the source data is kept only when asked, and a different observation spec is refused."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from robot_rl.cli import main
from robot_rl.commands.train import trainer_from_config
from robot_rl.config import load_config
from robot_rl.policy_export import SpecMismatch
from tests.test_deploy import TINY, train_tiny


def trainer(run, *overrides):
    cfg = load_config("train", ["task=pick_cube", *TINY, "train.demos=null", f"run_dir={run}", *overrides])
    return trainer_from_config(cfg, OmegaConf.to_yaml(cfg))


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_warm_start_loads_the_source_and_trains_only_the_critic_during_warm_up(tmp_path) -> None:
    source = train_tiny(tmp_path / "source", "pick_cube")
    warm = trainer(tmp_path / "warm", f"train.init_from={source}", "train.warm_start_steps=120",
                   "train.total_env_steps=120", "dr=shifted")  # fmt: skip
    saved = load_file(source / "agent.safetensors")
    for key, value in warm.agent.state_dict().items():
        torch.testing.assert_close(value, saved[key])
    assert warm.offline is None  # no source data, no demos: WSRL's default
    actor, critic = params(warm.agent.actor), params(warm.agent.critic)
    warm.run()
    assert warm.agent.num_updates > 0
    assert all(torch.equal(v, warm.agent.actor.state_dict()[k]) for k, v in actor.items())
    assert not all(torch.equal(v, warm.agent.critic.state_dict()[k]) for k, v in critic.items())

    warm.cfg.total_env_steps = 160  # past the warm-up the actor learns too
    warm.run()
    assert not all(torch.equal(v, warm.agent.actor.state_dict()[k]) for k, v in actor.items())

    shutil.rmtree(source)  # the source is for training only: evaluating the fine-tuned run needs none of it
    out = tmp_path / "eval"
    final = warm.run_dir / "checkpoints" / "final"
    assert main(["eval", f"checkpoint={final}", "episodes=1", "video_episodes=0", f"out_dir={out}"]) == 0
    assert json.loads((out / "eval.json").read_text())["episodes"] == 1


def test_retained_source_data_and_a_mismatching_source(tmp_path) -> None:
    source = train_tiny(tmp_path / "source", "pick_cube")
    kept = trainer(tmp_path / "kept", f"train.init_from={source}", "train.retain_source_data=true")
    assert kept.offline is not None and len(kept.offline) == 150
    with pytest.raises(SpecMismatch, match=r"privileged\.cube_pos"):
        trainer(tmp_path / "other", f"train.init_from={source}", "task.state_keys=[state.tcp_pose]")
    with pytest.raises(
        SpecMismatch, match=r"symlog_inputs=False, this agent with True; pass agent\.symlog_inputs"
    ):
        trainer(tmp_path / "squashed", f"train.init_from={source}", "agent.symlog_inputs=true")


@pytest.mark.ros
def test_warm_start_in_the_actor_and_learner_nodes(tmp_path) -> None:
    """sim_train.launch.yaml with a warm start: the learner loads the source, its actor collects with it."""
    from tests.test_sim_train_launch import launch

    source = train_tiny(tmp_path / "source", "pick_cube")
    overrides = (
        f"train.total_env_steps=200 train.learning_starts=50 train.batch_size=16 train.eval_every=0 "
        f"train.eval_episodes=1 train.video_episodes=0 train.demos=null agent.num_critics=2 "
        f"agent.hidden_dims=[32,32] task.max_episode_steps=30 train.init_from={source} "
        f"train.warm_start_steps=100 dr=shifted run_dir={tmp_path / 'run'}"
    )
    returncode, output = launch(tmp_path, "sim_train.launch.yaml", f"overrides:={overrides}")
    assert returncode == 0, output[-3000:]
    assert f"warm start from {source}" in output and "policy weights v" in output
    state = json.loads((tmp_path / "run" / "checkpoints" / "final" / "state.json").read_text())
    assert state["env_steps"] == 200

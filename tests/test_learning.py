"""Learning actually improves success: SAC through the real training loop on the 2-D point mass."""

from __future__ import annotations

import gymnasium as gym
import pytest

from robot_rl.agents.sac import SACConfig
from robot_rl.envs.point_mass import PointMassEnv
from robot_rl.loop import TrainConfig, Trainer


def make_point_mass(render_mode: str | None = None) -> gym.Env:
    return gym.wrappers.TimeLimit(PointMassEnv(dense=True), max_episode_steps=50)


@pytest.mark.slow
def test_sac_success_rises_on_point_mass(tmp_path) -> None:
    cfg = TrainConfig(
        total_env_steps=3000,
        warmup_steps=200,
        learning_starts=200,
        eval_every=1000,
        eval_episodes=20,
        checkpoint_every=0,
        video_episodes=0,
        seed=0,
    )
    agent = SACConfig(num_critics=2, hidden_dims=[64, 64], init_temperature=0.1)
    trainer = Trainer(make_point_mass, agent, cfg, tmp_path)
    before = trainer.evaluate()["success_rate"]
    summary = trainer.run()
    after = summary["success_rate"]
    assert after >= 0.8, trainer.history
    assert after >= before + 0.5, (before, trainer.history)
    assert (tmp_path / "learning_curve.png").is_file() and (tmp_path / "checkpoints" / "final").is_dir()

"""The single-process trainer on other envs: any gymnasium Box env, and images through the CNN path."""

from __future__ import annotations

import json

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np

from robot_rl.agents.sac import SACConfig
from robot_rl.cli import main
from robot_rl.loop import TrainConfig, Trainer


def test_trainer_runs_on_a_plain_gymnasium_box_env(tmp_path) -> None:
    cfg = TrainConfig(
        total_env_steps=300, learning_starts=100, eval_every=0, eval_episodes=2, video_episodes=0
    )
    trainer = Trainer(
        lambda render_mode=None: gym.make("Pendulum-v1", max_episode_steps=50),
        SACConfig(num_critics=2, hidden_dims=[32, 32]),
        cfg,
        tmp_path,
    )
    summary = trainer.run()
    assert summary["env_steps"] == 300 and trainer.agent.num_updates == 201
    assert len(trainer.online) == 300


def test_a_checkpoint_on_an_episode_boundary_counts_that_episode(tmp_path) -> None:
    """Resume reseeds from the episode count: a checkpoint at the last step of an episode must include it."""
    cfg = TrainConfig(total_env_steps=100, learning_starts=1000, eval_every=0, eval_episodes=0,
                      video_episodes=0, checkpoint_every=50)  # fmt: skip
    make = lambda render_mode=None: gym.make("Pendulum-v1", max_episode_steps=25)  # noqa: E731
    Trainer(make, SACConfig(num_critics=2, hidden_dims=[32, 32]), cfg, tmp_path).run()
    for step, episodes in ((50, 2), (100, 4)):
        state = json.loads((tmp_path / "checkpoints" / f"step_{step:07d}" / "state.json").read_text())
        assert state["env_steps"] == step and state["episodes"] == episodes


def test_train_cli_with_cameras_stores_uint8_frames_and_resumes(tmp_path) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        "task=pick_cube",
        "task.images=true",
        "task.image_size=32",
        "train.total_env_steps=120",
        "train.learning_starts=60",
        "train.batch_size=16",
        "train.num_demos=2",
        "train.eval_every=0",
        "train.eval_episodes=1",
        "train.video_episodes=1",
        "agent.num_critics=2",
        "agent.hidden_dims=[32,32]",
        f"run_dir={run}",
    ]
    assert main(args) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["env_steps"] == 120
    assert (run / "learning_curve.png").is_file() and (run / "eval.mp4").is_file()
    with np.load(run / "checkpoints" / "final" / "replay_online.npz") as replay:
        assert replay["frames/images.front"].dtype == np.uint8
        assert replay["frames/images.front"].shape[1:] == (32, 32, 3)
    # resume continues from the saved step counter to the new total
    resumed = tmp_path / "resumed"
    assert (
        main(
            [*args[:-1], "train.total_env_steps=150", f"run_dir={resumed}", f"resume={run}/checkpoints/final"]
        )
        == 0
    )
    assert json.loads((resumed / "summary.json").read_text())["env_steps"] == 150


def test_eval_video_plays_at_the_control_rate(tmp_path) -> None:
    run = tmp_path / "run"
    args = ["train", "task=pick_cube", "task.control_hz=20", "task.max_episode_steps=20",
            "train.demos=null",  # the scripted expert is tuned for 10 Hz
            "train.total_env_steps=40", "train.learning_starts=20", "train.batch_size=16",
            "train.eval_every=0", "train.eval_episodes=1", "train.video_episodes=1", "agent.num_critics=2",
            "agent.hidden_dims=[32,32]", f"run_dir={run}"]  # fmt: skip
    assert main(args) == 0
    with imageio.get_reader(run / "eval.mp4") as video:
        assert video.get_meta_data()["fps"] == 20  # real time, not a fixed 10 fps


def test_conservative_exploration_mixes_baseline_and_learner_episodes(tmp_path) -> None:
    cfg = TrainConfig(
        total_env_steps=1000, learning_starts=100, eval_every=0, eval_episodes=1, video_episodes=0,
        conservative_floor=0.9,
    )  # fmt: skip
    baseline_steps = []

    def baseline(obs):  # a do-nothing controller; rewards are made positive below (floor needs R >= 0)
        baseline_steps.append(1)
        return np.zeros(1, np.float32)

    trainer = Trainer(
        lambda render_mode=None: gym.wrappers.TransformReward(
            gym.make("Pendulum-v1", max_episode_steps=50), lambda r: r + 17.0
        ),
        SACConfig(num_critics=2, hidden_dims=[32, 32]),
        cfg,
        tmp_path,
        baseline=baseline,
    )
    trainer.run()
    episodes = 1000 // 50
    assert 0 < len(baseline_steps) < 1000 and len(baseline_steps) % 50 == 0  # whole episodes each
    mixer = trainer.mixer
    assert len(mixer.returns["baseline"]) + len(mixer.returns["learner"]) == episodes
    assert len(trainer.online) == 1000  # baseline episodes are training data too

    agent_cfg = SACConfig(num_critics=2, hidden_dims=[32, 32])
    resumed = Trainer(trainer.make_env, agent_cfg, cfg, tmp_path / "again", baseline=baseline)
    resumed.resume(tmp_path / "checkpoints" / "final")  # the mixer goes on where it was, not from scratch
    assert resumed.mixer.returns == mixer.returns and resumed.mixer.learner_prob() == mixer.learner_prob()
    assert [resumed.mixer.choose() for _ in range(10)] == [mixer.choose() for _ in range(10)]
    assert resumed.recent_successes == trainer.recent_successes

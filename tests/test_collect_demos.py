"""`robot-rl collect-demos`: successful expert episodes on disk that replay to the same trajectory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from robot_rl.cli import main
from robot_rl.config import task_config
from robot_rl.data.episodes import read_env_meta, read_episodes
from robot_rl.envs.make import make_env


def test_collect_demos_writes_successful_episodes(tmp_path: Path, capsys) -> None:
    out = tmp_path / "d.hdf5"
    assert main(["collect-demos", "task=pick_cube", "n=3", f"out={out}"]) == 0
    assert f"wrote 3 episodes to {out}" in capsys.readouterr().out

    meta = read_env_meta(out)
    assert meta["env_id"] == "robot_rl/PandaPickCube-v0" and meta["task"]["name"] == "pick_cube"
    dims = meta["task"]["action_dims"]
    episodes = list(read_episodes(out))
    assert [e.attrs["seed"] for e in episodes] == [0, 1, 2]
    for episode in episodes:
        assert episode.attrs["success"] is True
        assert episode.terminated[-1] and not episode.terminated[:-1].any() and not episode.truncated.any()
        assert episode.actions.shape == (len(episode), 7 if dims is None else len(dims))
        assert np.all(np.abs(episode.actions) <= 1.0)
        assert episode.obs["privileged.cube_pos"].shape == (len(episode) + 1, 3)

    # The file alone rebuilds the env, and its actions replay the recorded trajectory.
    env = make_env(task_config(OmegaConf.create(meta["task"])))
    episode = episodes[0]
    obs, _ = env.reset(seed=episode.attrs["seed"])
    for t, action in enumerate(episode.actions):
        np.testing.assert_allclose(obs["privileged"]["cube_pos"], episode.obs["privileged.cube_pos"][t])
        obs, *_ = env.step(action)
    env.close()


def test_collect_demos_refuses_to_touch_an_existing_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "d.hdf5"
    out.write_bytes(b"")
    assert main(["collect-demos", "n=1", f"out={out}"]) == 2
    assert "pass if_exists=append" in capsys.readouterr().err


def test_collect_demos_fails_clearly_when_attempts_run_out(tmp_path: Path, capsys) -> None:
    out = tmp_path / "d.hdf5"
    args = ["collect-demos", "n=2", "max_attempts=2", "task.max_episode_steps=2", f"out={out}"]
    assert main(args) == 1
    assert "only 0/2 successful episodes after max_attempts=2" in capsys.readouterr().err
    assert list(read_episodes(out)) == []


def test_a_run_folder_with_a_short_demo_file_is_refused_not_reused(tmp_path: Path, capsys) -> None:
    """train.demos=auto records into the run folder once; a recording cut short must not pass for it."""
    run = tmp_path / "run"
    run.mkdir()
    assert main(["collect-demos", "task=pick_cube", "n=2", f"out={run / 'demos.hdf5'}"]) == 0
    args = ["train", "task=pick_cube", "train.demos=auto", "train.num_demos=5", f"run_dir={run}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "holds 2 demos, fewer than the 5 asked for" in err and "delete it" in err

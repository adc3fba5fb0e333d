"""Teleoperated demo recording: what the operator did is what is stored, their marks end and label
episodes, discarded ones are dropped, and killing the recorder keeps every completed episode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from drivers.teleop import make_device
from robot_rl.cli import main
from robot_rl.commands.record_demos import Recorder
from robot_rl.config import load_config, task_config
from robot_rl.data.episodes import read_episodes
from robot_rl.envs.make import make_env

DOWN = [0.0, 0.0, -0.6, 0.0, 0.0, 0.0, -1.0]
CLOSE = [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def scripted(*segments: tuple[int, list[float], list[str]]):
    return make_device(
        {"type": "scripted", "segments": [{"steps": s, "action": a, "events": e} for s, a, e in segments]}
    )


def test_recorder_stores_the_operator_actions_and_marks() -> None:
    task = task_config(load_config("train", ["task=pick_cube"]).task)
    env = make_env(task)
    device = scripted((4, DOWN, []), (3, CLOSE, ["failure"]), (2, DOWN, ["discard"]), (5, CLOSE, []),
                      (1, CLOSE, ["success"]))  # fmt: skip
    recorder = Recorder(env, device, task, realtime=False)
    try:
        episode, attrs = recorder.episode(seed=3)  # 4 steps down, then the failure mark on the 5th
        assert attrs == {"success": False, "seed": 3, "mark": "failure"}
        np.testing.assert_allclose(episode["actions"], [np.array(DOWN)[[0, 1, 2, 6]]] * 4 + [
            np.array(CLOSE)[[0, 1, 2, 6]]])  # fmt: skip
        assert episode["truncated"][-1] and not any(episode["terminated"]) and all(episode["is_intervention"])
        assert len(episode["obs"]) == 6
        # the next episode: two steps of the failure segment, then discarded
        episode, attrs = recorder.episode(seed=4)
        assert episode is None
        episode, attrs = recorder.episode(seed=5)  # a success mark: reward 1 on the last step, terminal
        assert attrs["success"] and attrs["mark"] == "success"
        assert episode["rewards"][-1] == 1.0 and episode["terminated"][-1]
    finally:
        env.close()


def test_record_demos_cli_writes_kept_episodes(tmp_path) -> None:
    out = tmp_path / "demos.hdf5"
    args = ["record-demos", "device=scripted", "realtime=false", "window=false", "n=2", f"out={out}",
            "device.loop=true"]  # fmt: skip
    assert main(args) == 0
    episodes = list(read_episodes(out))
    assert [e.attrs["mark"] for e in episodes] == ["success", "success"]
    assert all(e.is_intervention.all() and e.actions.shape[1] == 4 for e in episodes)
    assert main([*args, "n=1"]) == 0  # a later session appends
    assert len(list(read_episodes(out))) == 3


def test_killing_the_recorder_mid_episode_keeps_every_completed_episode(tmp_path) -> None:
    out = tmp_path / "demos.hdf5"
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONUNBUFFERED": "1"}
    recorder = subprocess.Popen(
        [str(Path(sys.executable).parent / "robot-rl"), "record-demos", "device=scripted", "device.loop=true",
         "realtime=false", "window=false", "n=1000", f"out={out}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    kept = 0
    try:
        deadline = time.monotonic() + 120
        for line in recorder.stdout:
            kept += "kept as demo_" in line
            if kept == 3 or time.monotonic() > deadline:
                break
        time.sleep(0.2)  # into the next episode
        recorder.send_signal(signal.SIGKILL)
        recorder.wait(timeout=10)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    assert kept == 3
    episodes = list(read_episodes(out))
    assert len(episodes) >= 3
    assert all(len(e) == 46 and e.attrs["success"] for e in episodes)

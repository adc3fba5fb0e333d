"""Episode files: exact round trip, appending, a writer killed mid-episode, and clear errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from robot_rl.data.episodes import (
    DatasetError,
    EpisodeWriter,
    flatten_obs,
    read_env_meta,
    read_episodes,
    unflatten_obs,
)

ROOT = Path(__file__).resolve().parents[1]
META = {"env_id": "robot_rl/PandaPickCube-v0", "control_hz": 10.0, "action_scale": [0.03, 0.15]}


def fake_episode(seed: int, steps: int | None = None) -> dict[str, Any]:
    """``EpisodeWriter.add_episode`` keywords for a random episode of 3 + seed steps (or ``steps``)."""
    rng = np.random.default_rng(seed)
    steps = 3 + seed if steps is None else steps
    obs = [
        {
            "state": {
                "tcp_pose": rng.standard_normal(7).astype(np.float32),
                "gripper_pos": rng.uniform(0, 1, 1).astype(np.float32),
            },
            "images": {"front": rng.integers(0, 256, (8, 6, 3), dtype=np.uint8)},
            "privileged": {"cube_pos": rng.standard_normal(3).astype(np.float32)},
        }
        for _ in range(steps + 1)
    ]
    return {
        "obs": obs,
        "actions": rng.uniform(-1, 1, (steps, 7)).astype(np.float32),
        "rewards": rng.standard_normal(steps),
        "terminated": np.arange(steps) == steps - 1,
        "truncated": np.zeros(steps, bool),
        "is_intervention": rng.integers(0, 2, steps).astype(bool),
        "attrs": {"success": bool(seed % 2), "seed": seed},
    }


def assert_same(episode, given: dict[str, Any]) -> None:
    expected_obs = {
        k: np.stack([flatten_obs(o)[k] for o in given["obs"]]) for k in flatten_obs(given["obs"][0])
    }
    assert episode.obs.keys() == expected_obs.keys()
    for key, values in expected_obs.items():
        assert episode.obs[key].dtype == values.dtype, key
        np.testing.assert_array_equal(episode.obs[key], values)
    for key in ("actions", "rewards", "terminated", "truncated", "is_intervention"):
        assert getattr(episode, key).dtype == np.asarray(given[key]).dtype, key
        np.testing.assert_array_equal(getattr(episode, key), given[key])
    assert episode.attrs == given["attrs"]
    assert len(episode) == len(given["actions"])


def test_flatten_and_unflatten_are_inverse() -> None:
    obs = fake_episode(0)["obs"][0]
    flat = flatten_obs(obs)
    assert sorted(flat) == ["images.front", "privileged.cube_pos", "state.gripper_pos", "state.tcp_pose"]
    nested = unflatten_obs(flat)
    assert nested["state"]["tcp_pose"] is flat["state.tcp_pose"]
    assert flatten_obs(nested).keys() == flat.keys()
    assert list(flatten_obs(np.zeros(3))) == ["obs"]
    with pytest.raises(ValueError, match=r"without '\.'"):
        flatten_obs({"state.x": np.zeros(1)})


def test_round_trip_keeps_values_dtypes_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "demos.hdf5"
    given = [fake_episode(seed) for seed in range(3)]
    with EpisodeWriter(path, META) as writer:
        names = [writer.add_episode(**episode) for episode in given]
    assert names == ["demo_0", "demo_1", "demo_2"]

    episodes = list(read_episodes(path))
    assert [e.name for e in episodes] == names
    for episode, expected in zip(episodes, given, strict=True):
        assert_same(episode, expected)
    assert read_env_meta(path) == META

    with h5py.File(path, "r") as file:  # robomimic's layout, as other tools read it
        demo = file["data/demo_1"]
        assert file["data"].attrs["total"] == 3 + 4 + 5
        assert demo.attrs["num_samples"] == 4
        assert demo["obs/state.tcp_pose"].shape == demo["next_obs/state.tcp_pose"].shape == (4, 7)
        np.testing.assert_array_equal(demo["obs/state.tcp_pose"][1:], demo["next_obs/state.tcp_pose"][:-1])
        np.testing.assert_array_equal(demo["dones"][()], given[1]["terminated"])
        image = demo["obs/images.front"]
        assert (image.dtype, image.chunks, image.compression, image.compression_opts) == (
            np.uint8,
            (1, 8, 6, 3),
            "gzip",
            4,
        )


def test_extras_round_trip_and_plain_array_obs(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    states = np.arange(6.0).reshape(3, 2)
    with EpisodeWriter(path, META) as writer:
        obs = [np.full(2, i, np.float32) for i in range(4)]
        writer.add_episode(obs, np.zeros((3, 4)), np.ones(3), [0, 0, 1], [0, 0, 0], extras={"states": states})
    (episode,) = read_episodes(path)
    np.testing.assert_array_equal(episode.obs["obs"][:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(episode.extras["states"], states)
    assert not episode.is_intervention.any()


def test_append_continues_numbering_in_demo_order(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    with EpisodeWriter(path, META) as writer:
        for seed in range(10):
            writer.add_episode(**fake_episode(seed, steps=1))
    with EpisodeWriter(path, META) as writer:
        assert writer.add_episode(**fake_episode(10, steps=2)) == "demo_10"
    names = [e.name for e in read_episodes(path)]
    assert names == [f"demo_{i}" for i in range(11)]  # numeric order: demo_10 last, not after demo_1
    with h5py.File(path, "r") as file:
        assert file["data"].attrs["total"] == 12

    with pytest.raises(DatasetError, match=r"another env setup \(control_hz: file 10.0, now 20.0\)"):
        EpisodeWriter(path, {**META, "control_hz": 20.0})
    with EpisodeWriter(path, {**META, "control_hz": 20.0}, mode="w") as writer:
        assert writer.add_episode(**fake_episode(0)) == "demo_0"
    assert len(list(read_episodes(path))) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rewards": np.zeros(2)}, r"rewards has shape \(2,\); expected \(3,\)"),
        ({"actions": np.zeros(3)}, r"actions has shape \(3,\); expected 2-D"),
        ({"truncated": np.zeros((3, 1))}, r"truncated has shape \(3, 1\)"),
        ({"obs": [{"a": np.zeros(1)}] * 3 + [{"b": np.zeros(1)}]}, r"obs\[3\] has keys \['b'\]"),
        ({"obs": [{"a": np.zeros(1)}] * 3 + [{"a": np.zeros(2)}]}, "obs key 'a' changes shape"),
        ({"obs": [{"a": np.zeros(1)}]}, "obs has 1 entries"),
        ({"attrs": {"note": None}}, r"attrs\['note'\]=None"),
        ({"extras": {"actions": np.zeros(3)}}, "extras key 'actions' is reserved"),
        ({"rewards": ["a", "b", "c"]}, "rewards has dtype <U1; episodes hold numbers and bools only"),
    ],
)
def test_add_episode_rejects_inconsistent_input(tmp_path: Path, change: dict, message: str) -> None:
    with EpisodeWriter(tmp_path / "d.hdf5", META) as writer:
        with pytest.raises(ValueError, match=message):
            writer.add_episode(**{**fake_episode(0), **change})
        assert writer.add_episode(**fake_episode(0)) == "demo_0"  # nothing half-written before


KILLED_WRITER = """
import sys
from robot_rl.data import writer
from tests.test_episodes import META, fake_episode

w = writer.EpisodeWriter(sys.argv[1], META)
for seed in (0, 1):
    w.add_episode(**fake_episode(seed))
create = writer._create_dataset

def stall(group, name, values):
    if name != "actions":
        return create(group, name, values)
    # Episode 3 is half on disk (obs, next_obs, a growing actions): keep writing until killed.
    actions = group.create_dataset(name, shape=(0, 7), maxshape=(None, 7), dtype="f4", chunks=(4, 7))
    group.file.flush()
    print("writing", flush=True)
    while True:
        actions.resize(len(actions) + 1, axis=0)
        actions[-1] = 0.5
        group.file.flush()

writer._create_dataset = stall
w.add_episode(**fake_episode(2))
"""


def test_writer_killed_mid_episode_keeps_completed_episodes(tmp_path: Path, caplog) -> None:
    path = tmp_path / "d.hdf5"
    cmd = [sys.executable, "-c", KILLED_WRITER, str(path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "writing", proc.communicate(timeout=10)[1]
        time.sleep(0.2)  # let it write (and flush) for a while
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    with caplog.at_level(logging.WARNING, logger="robot_rl.data.episodes"):
        episodes = list(read_episodes(path))
    assert [e.name for e in episodes] == ["demo_0", "demo_1"]
    for episode, seed in zip(episodes, (0, 1), strict=True):
        assert_same(episode, fake_episode(seed))
    assert "skipping demo_2: no num_samples" in caplog.text
    with EpisodeWriter(path, META) as writer:  # the file stays usable; the broken group is not reused
        assert writer.add_episode(**fake_episode(3)) == "demo_3"
    assert [e.name for e in read_episodes(path)] == ["demo_0", "demo_1", "demo_3"]


def test_missing_corrupt_and_foreign_files_raise_dataset_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.hdf5"
    with pytest.raises(DatasetError, match=r"nope\.hdf5: no such file; check the path"):
        read_episodes(missing)
    corrupt = tmp_path / "corrupt.hdf5"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    for read in (read_episodes, read_env_meta):
        with pytest.raises(DatasetError, match=r"corrupt\.hdf5: not an HDF5 file .* re-record it"):
            read(corrupt)
    with pytest.raises(DatasetError, match="exists but is not HDF5"):
        EpisodeWriter(corrupt, META)
    truncated = tmp_path / "truncated.hdf5"
    with EpisodeWriter(truncated, META) as writer:
        writer.add_episode(**fake_episode(5))
    truncated.write_bytes(truncated.read_bytes()[:1000])
    with pytest.raises(DatasetError, match=r"truncated\.hdf5: corrupt HDF5 file"):
        list(read_episodes(truncated))
    foreign = tmp_path / "foreign.hdf5"
    with h5py.File(foreign, "w") as file:
        file["x"] = np.zeros(3)
    with pytest.raises(DatasetError, match="has no 'data' group"):
        read_episodes(foreign)


def test_malformed_complete_episode_raises_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    with EpisodeWriter(path, META) as writer:
        writer.add_episode(**fake_episode(0))
        writer.add_episode(**fake_episode(1))
    with h5py.File(path, "a") as file:
        del file["data/demo_1/truncated"]
    with pytest.raises(
        DatasetError, match=r"demo_1 is marked complete \(num_samples=4\) but lacks \['truncated'\]"
    ):
        list(read_episodes(path))
    with h5py.File(path, "a") as file:
        file["data/demo_1/truncated"] = np.zeros(5, bool)
    with pytest.raises(DatasetError, match=r"num_samples=4 but datasets of other lengths \{'truncated': 5\}"):
        list(read_episodes(path))

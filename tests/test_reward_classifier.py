"""Reward classifiers (robot_rl/rewards): the threshold, identical preprocessing in training and at run
time, clear dataset errors, crash-safe recording, device labels and a tiny record -> train -> load run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from robot_rl.cli import main
from robot_rl.rewards import FrameWriter, RewardClassifier, read_frames
from robot_rl.rewards.model import ModelConfig, SuccessClassifier
from robot_rl.rewards.preprocess import InputSpec, state_statistics
from robot_rl.rewards.sampling import BalancedSampler, split_by_group
from robot_rl.rewards.threshold import choose_threshold, precision_recall_at, precision_recall_curve
from robot_rl.rewards.train import make_batch

# Ten frames by falling score; P = success. Precision at each threshold (predict score >= t):
# 0.95 P 1/1 | 0.9 P 2/2 | 0.85 N 2/3 | 0.8 P 3/4 | 0.7 P 4/5 | 0.6 N 4/6 | 0.5 P 5/7
# 0.3 N 5/8 | 0.2 N 5/9 | 0.1 P 6/10
SCORES = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1])
LABELS = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1], bool)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("target", "threshold", "precision", "recall"),
    [(1.0, 0.9, 1.0, 2 / 6), (0.8, 0.7, 0.8, 4 / 6), (0.7, 0.5, 5 / 7, 5 / 6), (0.6, 0.1, 0.6, 1.0)],
)
def test_threshold_is_the_lowest_reaching_the_target_precision(target, threshold, precision, recall) -> None:
    order = np.random.default_rng(0).permutation(len(SCORES))  # the input order must not matter
    choice = choose_threshold(SCORES[order], LABELS[order], target)
    assert choice.reached
    assert choice.threshold == threshold
    assert choice.precision == pytest.approx(precision) and choice.recall == pytest.approx(recall)
    assert precision_recall_at(SCORES, LABELS, choice.threshold) == pytest.approx((precision, recall))


def test_precision_recall_curve_groups_equal_scores_and_flags_an_unreachable_target() -> None:
    curve = precision_recall_curve(np.array([0.9, 0.5, 0.5, 0.1]), np.array([0, 1, 0, 1], bool))
    np.testing.assert_allclose(curve.thresholds, [0.9, 0.5, 0.1])
    np.testing.assert_allclose(curve.precision, [0.0, 1 / 3, 2 / 4])
    np.testing.assert_allclose(curve.recall, [0.0, 0.5, 1.0])
    choice = choose_threshold(np.array([0.9, 0.5, 0.5, 0.1]), np.array([0, 1, 0, 1], bool), 0.98)
    assert not choice.reached and (choice.threshold, choice.precision) == (0.1, 0.5)


def _write_frames(path: Path, episodes: list[list[bool]], size: int = 16, seed: int = 0) -> None:
    """Random frames with the given labels: two cameras, two state keys, one episode per list."""
    rng = np.random.default_rng(seed)
    with FrameWriter(
        path, {"env_id": "test"}, ["front", "wrist"], size, ["gripper_pos", "tcp_pose"], "w"
    ) as w:
        for i, labels in enumerate(episodes):
            t = len(labels)
            images = {c: rng.integers(0, 256, (t, size, size, 3), dtype=np.uint8) for c in ("front", "wrist")}
            state = {"gripper_pos": rng.random((t, 1)), "tcp_pose": rng.normal(size=(t, 7))}
            w.add_episode(images, state, labels, seed=100 + i, policy="expert")


def test_training_batches_and_run_time_observations_give_identical_tensors(tmp_path: Path) -> None:
    _write_frames(tmp_path / "f.hdf5", [[False, False, True], [False, True, True]])
    data = read_frames(tmp_path / "f.hdf5")
    keys = ("tcp_pose", "gripper_pos")
    spec = InputSpec(("wrist", "front"), 16, keys, *state_statistics(data.state, keys))
    torch.manual_seed(0)
    model_cfg = ModelConfig(feature_dim=8, channels=4, hidden_dims=[16])
    clf = RewardClassifier(SuccessClassifier(spec, model_cfg), spec, model_cfg, threshold=0.5)
    loaded = RewardClassifier.load(clf.save(tmp_path / "clf"))  # run time reads the saved spec

    idx = np.array([4, 0, 2])
    batch = make_batch(data, idx, spec)
    with torch.no_grad():
        batch_probs = torch.sigmoid(clf.model(batch)).numpy()
    for row, i in enumerate(idx):
        # An env observation: cameras in another order, an extra camera, state as 1-D arrays.
        obs = {
            "images": {
                "front": data.images["front"][i],
                "side": data.images["front"][i],
                "wrist": data.images["wrist"][i],
            },
            "state": {
                k: data.state[k][i] for k in ("gripper_pos", "tcp_pose", "joint_pos") if k in data.state
            },
        }
        runtime = loaded.inputs(obs)
        assert list(runtime.images) == ["wrist", "front"]
        for camera in spec.cameras:
            assert torch.equal(runtime.images[camera][0], batch.images[camera][row])
        assert torch.equal(runtime.state[0], batch.state[row])
        assert loaded.probability(obs) == pytest.approx(float(batch_probs[row]), abs=1e-6)
        assert loaded.success(obs) == (loaded.probability(obs) >= 0.5)

    obs["images"]["wrist"] = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=r"set task\.image_size=16"):
        loaded.probability(obs)


def test_every_part_of_the_model_learns(tmp_path: Path) -> None:
    """Gradients reach every camera encoder, the state input and the head (LeRobot's classifier trained
    only its head), and a few steps on one batch lower the loss."""
    _write_frames(tmp_path / "f.hdf5", [[False, True, False, True]])
    data = read_frames(tmp_path / "f.hdf5")
    keys = ("gripper_pos",)
    spec = InputSpec(("front", "wrist"), 16, keys, *state_statistics(data.state, keys))
    torch.manual_seed(0)
    model = SuccessClassifier(spec, ModelConfig(feature_dim=8, channels=4, hidden_dims=[16]))
    batch, labels = make_batch(data, np.arange(4), spec), torch.as_tensor(data.labels, dtype=torch.float32)
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch), labels)
        optim.zero_grad()
        loss.backward()
        if not losses:
            silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert not silent
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_the_rewards_package_imports_no_ros_or_simulator() -> None:
    code = (
        "import sys\nfor m in ('rclpy', 'mujoco', 'pybullet'): sys.modules[m] = None\n"
        "import robot_rl.rewards, robot_rl.rewards.train, robot_rl.rewards.report\nprint('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_split_keeps_episode_groups_apart_and_batches_are_balanced() -> None:
    groups = np.repeat(np.arange(10), 5)
    labels = np.tile([False, False, False, True, True], 10)
    train, val = split_by_group(groups, labels, 0.3, seed=0)
    assert not set(groups[train]) & set(groups[val]) and len(set(groups[val])) == 3
    idx = BalancedSampler(train, labels, torch.Generator().manual_seed(0)).sample(64)
    assert labels[idx[:32]].all() and not labels[idx[32:]].any() and set(idx) <= set(train)


def _cli_error(capsys, args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_missing_corrupt_empty_and_one_class_datasets_end_in_one_clear_error(tmp_path: Path, capsys) -> None:
    out = f"out={tmp_path / 'clf'}"
    assert "no such file" in _cli_error(
        capsys, ["train-classifier", f"dataset={tmp_path / 'nope.hdf5'}", out]
    )
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5 at all" * 100)
    assert "not an HDF5 file" in _cli_error(
        capsys, ["train-classifier", f"dataset={tmp_path / 'junk.hdf5'}", out]
    )
    _write_frames(tmp_path / "cut.hdf5", [[False, True]] * 4)
    raw = (tmp_path / "cut.hdf5").read_bytes()
    (tmp_path / "cut.hdf5").write_bytes(raw[: len(raw) // 2])  # truncated mid-file
    assert "corrupt" in _cli_error(capsys, ["train-classifier", f"dataset={tmp_path / 'cut.hdf5'}", out])
    with h5py.File(tmp_path / "other.hdf5", "w") as f:
        f.create_group("data")
    assert "not a labelled-frame file" in _cli_error(
        capsys, ["train-classifier", f"dataset={tmp_path / 'other.hdf5'}", out]
    )
    FrameWriter(tmp_path / "empty.hdf5", {}, ["front"], 16, [], "w").close()
    assert "holds no frames" in _cli_error(
        capsys, ["train-classifier", f"dataset={tmp_path / 'empty.hdf5'}", out]
    )
    _write_frames(tmp_path / "fail.hdf5", [[False, False]] * 3)
    err = _cli_error(capsys, ["train-classifier", f"dataset={tmp_path / 'fail.hdf5'}", out])
    assert "all 6 frames are labelled failure" in err and "needs success frames" in err
    # An evaluation set recorded from the training seeds (the simulation replays them exactly).
    _write_frames(tmp_path / "good.hdf5", [[False, True]] * 4)
    _write_frames(tmp_path / "same_seeds.hdf5", [[False, True]] * 2, seed=1)
    err = _cli_error(capsys, ["train-classifier", f"dataset={tmp_path / 'good.hdf5'}",
                              f"eval_dataset={tmp_path / 'same_seeds.hdf5'}", out])  # fmt: skip
    assert "replays 2 reset seeds" in err and "other seeds" in err
    assert not (tmp_path / "clf").exists()


def test_a_writer_killed_mid_episode_loses_only_that_episode(tmp_path: Path) -> None:
    path = tmp_path / "f.hdf5"
    _write_frames(path, [[False, True], [False, False, True]])
    with h5py.File(path, "a") as f:  # rows of a third episode whose writer died before committing it
        for name in ("labels", "episode", "step", "images/front"):
            f[name].resize(len(f[name]) + 4, axis=0)
    data = read_frames(path)
    assert len(data) == 5 and list(data.episode) == [0, 0, 1, 1, 1] and list(data.step) == [0, 1, 0, 1, 2]
    assert data.labels.tolist() == [False, True, False, False, True]
    assert list(data.episode_seed) == [100, 101] and data.episode_policy == ["expert", "expert"]
    rng = np.random.default_rng(1)
    with FrameWriter(path, {"env_id": "test"}, ["front", "wrist"], 16, ["gripper_pos", "tcp_pose"]) as w:
        frames = {c: rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8) for c in ("front", "wrist")}
        assert (
            w.add_episode(frames, {"gripper_pos": [[0.5]], "tcp_pose": np.zeros((1, 7))}, [True], 7, "device")
            == 2
        )
    data = read_frames(path)
    assert len(data) == 6 and data.episode[-1] == 2 and data.episode_policy[-1] == "device"
    np.testing.assert_array_equal(data.images["front"][-1], frames["front"][0])


def test_device_buttons_label_the_frames(tmp_path: Path, monkeypatch) -> None:
    from drivers.teleop import make_device
    from robot_rl.commands.record_success_fail import DeviceEpisodes
    from robot_rl.config import load_config, task_config
    from robot_rl.envs.make import make_env

    monkeypatch.setenv("MUJOCO_GL", "egl")
    task = task_config(
        load_config("record_success_fail", ["task.image_size=16", "task.max_episode_steps=6"]).task
    )
    still = [0.0] * 6 + [-1.0]
    device = make_device(
        {
            "type": "scripted",
            "segments": [
                {"steps": 2, "action": still},
                {"steps": 2, "action": still, "events": ["success"]},
                {"steps": 1, "action": still, "events": ["failure"]},
                {"steps": 1, "action": still},
            ],
        }
    )
    env = make_env(task)
    try:
        observations, labels = DeviceEpisodes(env, device, task, realtime=False).episode(seed=0)
    finally:
        env.close()
    # Reads 0..5 come before steps 0..5; a mark labels the frame on screen (frame r at read r) onwards.
    assert labels == [False, False, True, True, False, False, False]
    assert observations[0]["images"]["wrist"].shape == (16, 16, 3)


def test_record_train_load_and_score_an_env_observation(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MUJOCO_GL", "egl")
    data, out = tmp_path / "sf.hdf5", tmp_path / "clf"
    assert (
        main(
            [
                "record-success-fail",
                "episodes=3",
                "policies=[expert,stall]",
                "task.image_size=32",
                "task.max_episode_steps=30",
                f"out={data}",
            ]
        )
        == 0
    )
    assert f"to {data}" in capsys.readouterr().out
    frames = read_frames(data)
    assert frames.image_size == 32 and frames.cameras == ["front", "wrist"]
    assert frames.episode_policy == ["expert", "stall"] * 3 and list(frames.episode_seed) == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]
    assert frames.labels.any() and not frames.labels.all()
    expert0 = frames.labels[frames.episode == 0]
    assert not expert0[0] and expert0[-1]  # the expert ends holding the cube up

    assert (
        main(
            [
                "train-classifier",
                f"dataset={data}",
                f"out={out}",
                "train.epochs=1",
                "train.batch_size=16",
                "train.val_fraction=0.34",
                "model.channels=8",
                "model.hidden_dims=[32]",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "precision" in printed and f"{out / 'pr_curve.png'}" in printed
    assert (out / "pr_curve.png").stat().st_size > 0 and (out / "false_positives").is_dir()
    meta = json.loads((out / "classifier.json").read_text())
    assert meta["spec"]["cameras"] == ["front", "wrist"] and meta["spec"]["image_size"] == 32
    assert set(meta["validation"]) >= {"precision", "recall"}

    clf = RewardClassifier.load(out)
    from robot_rl.config import task_config
    from robot_rl.envs.make import make_env

    env = make_env(task_config(OmegaConf.create(frames.env_meta["task"])))
    try:
        obs, _ = env.reset(seed=0)  # the recording's first frame, rendered again
    finally:
        env.close()
    p = clf.probability(obs)
    stored = clf.probabilities({c: frames.images[c][:1] for c in clf.spec.cameras})
    assert 0.0 <= p <= 1.0 and p == pytest.approx(float(stored[0]), abs=1e-6)

    # Paid by this classifier, a state policy trains on an env that renders the cameras for the
    # classifier only; evaluation and the scripted demos end at the task's true success.
    from robot_rl.agents import agent_config
    from robot_rl.commands.train import demo_loader, make_trainer
    from robot_rl.config import load_config, to_dataclass
    from robot_rl.data.episodes import read_episodes
    from robot_rl.loop import TrainConfig

    cfg = load_config(
        "train",
        [
            "task.images=true",
            "task.image_size=32",
            "task.policy_cameras=[]",
            f"train.reward_classifier={out}",
            "train.num_demos=1",
            "train.eval_episodes=1",
            "train.torch_threads=1",
        ],
    )
    task, agent = task_config(cfg.task), agent_config(cfg.agent)
    train = to_dataclass(TrainConfig, cfg.train, "train")
    trainer = make_trainer(
        task, agent, train, tmp_path / "run", demo_loader=demo_loader(task, train, tmp_path / "run")
    )
    try:
        assert trainer.spec.image_keys == [] and "privileged.cube_pos" in trainer.spec.state_keys
        assert "images" in trainer.env.observation_space.spaces  # rendered for the classifier
        assert trainer.eval_env.unwrapped.terminate_on_success  # the training env's does not
        assert not trainer.env.unwrapped.terminate_on_success
        assert "images" not in trainer.eval_env.observation_space.spaces
        obs, _ = trainer.env.reset(seed=0)
        info = trainer.env.step(trainer.env.action_space.sample())[-1]
        assert {"task_success", "classifier_probability"} <= set(info)
    finally:
        trainer.env.close()
        trainer.eval_env.close()
    demo = next(read_episodes(tmp_path / "run" / "demos.hdf5"))
    assert demo.rewards[-1] == 1.0 and demo.terminated[-1] and demo.rewards[:-1].sum() == 0


def test_a_miss_closes_the_gripper_beside_the_object(tmp_path: Path, monkeypatch) -> None:
    """The `miss` policy's frames are the hard negatives of an empty closed gripper: never success."""
    monkeypatch.setenv("MUJOCO_GL", "egl")
    data = tmp_path / "miss.hdf5"
    args = ["record-success-fail", "episodes=2", "policies=[miss]", "task.image_size=16", f"out={data}"]
    assert main(args) == 0
    frames = read_frames(data)
    assert not frames.labels.any()
    opening = frames.state["gripper_pos"][:, 0]
    assert opening.min() < 0.3 and opening.max() > 0.9  # it closed on nothing and opened again

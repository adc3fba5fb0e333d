"""Episodes <-> rosbag2: an exact round trip, rclpy reads the exported messages, a recording of the robot
topics becomes episodes, and one clear error for a bag that cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from robot_rl.cli import main
from robot_rl.data import rosbag_msgs as msgs
from robot_rl.data.episodes import DatasetError, EpisodeWriter, read_env_meta, read_episodes
from robot_rl.data.rosbag import export_bag, import_bag
from robot_rl.data.rosbag_recorded import RecordingOptions

META = {"env_id": "robot_rl/PandaPickCube-v0", "control_hz": 20.0, "action_scale": [0.03, 0.15]}
START = 1_700_000_000 * 10**9


def fake_episode(rng: np.random.Generator, steps: int) -> dict[str, Any]:
    """``EpisodeWriter.add_episode`` keywords: every kind of observation key, flags and extras."""
    f32 = np.float32
    obs = [
        {
            "state": {
                "tcp_pose": rng.standard_normal(7).astype(f32),
                "tcp_vel": rng.standard_normal(6).astype(f32),
                "gripper_pos": rng.uniform(0, 1, 1).astype(f32),
                "joint_pos": rng.standard_normal(7).astype(f32),
                "joint_vel": rng.standard_normal(7).astype(f32),
                "tcp_wrench": rng.standard_normal(6),  # float64 stays float64
            },
            "images": {"front": rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)},
            "privileged": {"cube_pos": rng.standard_normal(3).astype(f32)},
        }
        for _ in range(steps + 1)
    ]
    return {
        "obs": obs,
        "actions": rng.uniform(-1, 1, (steps, 4)).astype(f32),  # a restricted action, as stored
        "rewards": rng.standard_normal(steps).astype(f32),
        "terminated": np.arange(steps) == steps - 1,
        "truncated": np.zeros(steps, bool),
        "is_intervention": rng.integers(0, 2, steps).astype(bool),
        "extras": {"states": rng.standard_normal((steps, 2, 2))},
        "attrs": {"success": True, "seed": int(rng.integers(100)), "expert": "pick_cube", "v": np.arange(3)},
    }


@pytest.fixture
def episodes(tmp_path: Path) -> Path:
    path, rng = tmp_path / "demos.hdf5", np.random.default_rng(0)
    with EpisodeWriter(path, META) as writer:
        writer.add_episode(**fake_episode(rng, 5))
        writer.add_episode(**fake_episode(rng, 3))
    return path


def test_export_then_import_is_exact(episodes: Path, tmp_path: Path) -> None:
    assert export_bag(episodes, tmp_path / "bag", start_ns=START) == 2
    with Reader(tmp_path / "bag") as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert reader.start_time == START
    assert topics["/robot/tcp_pose"] == "geometry_msgs/msg/PoseStamped"
    assert topics["/robot/cameras/front/image"] == "sensor_msgs/msg/Image"
    assert topics["/robot/joint_states"] == "sensor_msgs/msg/JointState"
    assert topics["/robot/wrench"] == "geometry_msgs/msg/WrenchStamped"
    assert counts["/robot/tcp_pose"] == 6 + 4 and counts["/robot/episode/action"] == 5 + 3
    assert counts["/robot/episode/marker"] == 4  # start and end of each episode

    assert import_bag(tmp_path / "bag", tmp_path / "back.hdf5") == ["demo_0", "demo_1"]
    assert read_env_meta(tmp_path / "back.hdf5") == META
    for a, b in zip(read_episodes(episodes), read_episodes(tmp_path / "back.hdf5"), strict=True):
        assert a.obs.keys() == b.obs.keys() and a.extras.keys() == b.extras.keys()
        for name, x, y in [
            *((k, a.obs[k], b.obs[k]) for k in a.obs),
            *((k, a.extras[k], b.extras[k]) for k in a.extras),
            *((k, getattr(a, k), getattr(b, k)) for k in ("actions", "rewards", "terminated", "truncated")),
            ("is_intervention", a.is_intervention, b.is_intervention),
        ]:
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert a.attrs.keys() == b.attrs.keys() and np.array_equal(a.attrs.pop("v"), b.attrs.pop("v"))
        assert a.attrs == b.attrs


def test_rclpy_deserializes_exported_messages(episodes: Path, tmp_path: Path) -> None:
    serialization = pytest.importorskip("rclpy.serialization")
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import Image

    export_bag(episodes, tmp_path / "bag", start_ns=START)
    with Reader(tmp_path / "bag") as reader:
        raw = {}
        for conn, log_ns, data in reader.messages():
            raw.setdefault(conn.topic, (log_ns, data))  # the first message of each topic
    first = next(read_episodes(episodes))

    log_ns, data = raw["/robot/cameras/front/image"]
    image = serialization.deserialize_message(data, Image)
    assert (image.height, image.width, image.encoding, image.step) == (6, 8, "rgb8", 24)
    pixels = np.frombuffer(bytes(image.data), np.uint8).reshape(6, 8, 3)
    assert np.array_equal(pixels, first.obs["images.front"][0])
    assert image.header.stamp.sec * 10**9 + image.header.stamp.nanosec == log_ns == START

    _, data = raw["/robot/tcp_pose"]
    pose = serialization.deserialize_message(data, PoseStamped)
    p, q = pose.pose.position, pose.pose.orientation
    got = np.array([p.x, p.y, p.z, q.w, q.x, q.y, q.z], np.float32)
    assert np.array_equal(got, first.obs["state.tcp_pose"][0]) and pose.header.frame_id == "base"


def write_recording(path: Path) -> dict[str, Any]:
    """A bag as `ros2 bag record` of the robot topics gives: state at 20 Hz, commands at 10 Hz, a camera,
    an operator taking over, and a 2 s pause that splits it in two; returns the expected actions/flags."""
    rng, t0, ms = np.random.default_rng(1), START, 10**6
    scale = np.repeat([0.03 * 10, 0.15 * 10], 3)  # action_scale * control_hz
    expected: dict[str, Any] = {"actions": [], "intervention": [False] * 2 + [True] * 4 + [False] * 3}
    with Writer(path, version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conns: dict[str, Any] = {}

        def put(rel: str, msg: Any, log_ns: int) -> None:
            if rel not in conns:
                topic = rel if rel.startswith("/") else f"/robot/{rel}"  # absolute: outside the namespace
                conns[rel] = writer.add_connection(topic, msg.__msgtype__, typestore=msgs.TYPESTORE)
            writer.write(conns[rel], log_ns, msgs.serialize(msg))

        for segment, (start, ticks) in enumerate([(t0, 10), (t0 + 3000 * ms, 5)]):
            for k in range(2 * ticks):  # state at 20 Hz: every other message is a control tick
                stamp, rel_s = start + k * 50 * ms, k * 0.05
                put("tcp_pose", msgs.pose_msg(np.array([rel_s, 0, 0, 1, 0, 0, 0]), stamp, "base"), stamp)
                joints = msgs.joints_msg(
                    [f"j{i}" for i in range(7)] + ["finger_joint1"], [rel_s] * 7 + [0.02], [], stamp
                )
                put("joint_states", joints, stamp)
                success = float(segment == 1 and k == 2 * ticks - 2)  # at the second stretch's last tick
                task = {"stamp": rel_s, "success": success, "reward": rel_s, "cube_pos": [rel_s, 1, 2]}
                put("task_state", msgs.parts_msg(task), stamp)
            actions = []
            for t in range(ticks):
                tick = start + t * 100 * ms
                put(
                    "cameras/wrist/image",
                    msgs.image_msg(np.full((4, 5, 3), t, np.uint8), tick + 5 * ms, "wrist"),
                    tick + 5 * ms,
                )
                if t == ticks - 1:
                    break
                action = rng.uniform(-1, 1, 7)
                if segment == 0 and t == 3:  # no command this step: the arm held still, the gripper held
                    action[:6], action[6] = 0.0, actions[-1][6]
                else:
                    sent = tick + 10 * ms
                    put("cmd/twist", msgs.twist_msg(action[:6] * scale, sent, "base"), sent)
                    put("cmd/gripper", msgs.parts_msg({"opening": (1 - action[6]) / 2}), sent)
                actions.append(action)
            expected["actions"].append(np.array(actions))
        # teleop_node runs at the root in the launch files
        put("/teleop/intervening", msgs.bool_msg(True), t0 + 220 * ms)  # during step 2
        put("/teleop/intervening", msgs.bool_msg(False), t0 + 520 * ms)  # handed back during step 5
    return expected


def test_recording_of_robot_topics_becomes_episodes(tmp_path: Path) -> None:
    expected = write_recording(tmp_path / "rec")
    opts = RecordingOptions(control_hz=10.0, action_scale=(0.03, 0.15))
    assert import_bag(tmp_path / "rec", tmp_path / "rec.hdf5", recording=opts) == ["demo_0", "demo_1"]
    first, second = read_episodes(tmp_path / "rec.hdf5")
    assert (len(first), len(second)) == (9, 4)
    for ep, actions in zip((first, second), expected["actions"], strict=True):
        np.testing.assert_allclose(ep.actions, actions, atol=1e-6)
        np.testing.assert_allclose(ep.rewards, np.arange(1, len(ep) + 1) * 0.1)  # task_state's, next tick
        assert ep.attrs["source"] == "rosbag" and ep.attrs["bag"] == str(tmp_path / "rec")
    assert first.truncated[-1] and not first.terminated.any() and first.attrs["success"] is False
    assert second.terminated[-1] and not second.truncated.any() and second.attrs["success"] is True
    assert first.is_intervention.tolist() == expected["intervention"] and not second.is_intervention.any()
    ticks = np.arange(10) * 0.1  # 20 Hz state resampled to 10 Hz control ticks
    np.testing.assert_allclose(first.obs["state.tcp_pose"][:, 0], ticks, atol=1e-6)
    np.testing.assert_allclose(first.obs["state.joint_pos"], np.repeat(ticks[:, None], 7, 1), atol=1e-6)
    np.testing.assert_allclose(first.obs["state.gripper_pos"], 0.5)
    np.testing.assert_allclose(first.obs["privileged.cube_pos"][:, 0], ticks, atol=1e-6)
    assert first.obs["images.wrist"].shape == (10, 4, 5, 3)
    assert first.obs["images.wrist"][:, 0, 0, 0].tolist() == list(range(10))
    assert read_env_meta(tmp_path / "rec.hdf5")["control_hz"] == 10.0


def test_bag_without_needed_topics_names_what_it_has(tmp_path: Path) -> None:
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/other/tcp_pose", msgs.POSE, typestore=msgs.TYPESTORE)
        writer.write(conn, START, msgs.serialize(msgs.pose_msg(np.zeros(7), START, "base")))
        conn = writer.add_connection("/robot/joint_states", msgs.JOINTS, typestore=msgs.TYPESTORE)
        writer.write(conn, START, msgs.serialize(msgs.joints_msg(["j1"], [0.0], [], START)))
    with pytest.raises(DatasetError, match=r"lacks \['/robot/tcp_pose', '/robot/cmd/twist'\]") as err:
        import_bag(tmp_path / "bag", tmp_path / "out.hdf5")
    assert "/other/tcp_pose (geometry_msgs/msg/PoseStamped)" in str(err.value)
    assert "/robot/joint_states" in str(err.value) and not (tmp_path / "out.hdf5").exists()


def test_missing_or_corrupt_bag_is_a_dataset_error(episodes: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such bag"):
        import_bag(tmp_path / "nope", tmp_path / "out.hdf5")
    export_bag(episodes, tmp_path / "bag", start_ns=START)
    mcap = next((tmp_path / "bag").glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[:-200])
    with pytest.raises(DatasetError, match="not a readable rosbag2"):
        import_bag(tmp_path / "bag", tmp_path / "out.hdf5")
    with pytest.raises(DatasetError, match="exists"):
        export_bag(episodes, tmp_path / "bag")


def test_cli_round_trip_and_help(episodes: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bag, back = tmp_path / "cli_bag", tmp_path / "back.hdf5"
    assert main(["export-bag", f"file={episodes}", f"bag={bag}", "storage=sqlite3"]) == 0
    assert main(["import-bag", f"bag={bag}", f"out={back}"]) == 0
    assert [len(e) for e in read_episodes(back)] == [5, 3]
    assert main(["import-bag", f"bag={bag}", f"out={back}"]) == 2  # exists: one message, no traceback
    assert "if_exists=append" in capsys.readouterr().err
    assert main(["export-bag", "--help"]) == 0
    assert "episode/marker" in capsys.readouterr().out


def test_rosbag_module_imports_no_rclpy() -> None:
    code = "import sys; sys.modules['rclpy'] = None; import robot_rl.data.rosbag; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr

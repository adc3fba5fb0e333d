"""Episode files (HDF5, ``robot_rl.data.layout``) <-> rosbag2 (MCAP or sqlite3), standard messages only.

``export_bag(hdf5, bag)`` writes every complete episode; ``import_bag(bag, hdf5)`` reads a bag written by
``export_bag`` back exactly, or turns a recording of the robot's topics into episodes
(``robot_rl.data.rosbag_recorded`` documents that case and its limits). Pure Python (``rosbags``): no rclpy.

Topics are relative to ``namespace`` (default ``/robot``); the robot topics are those of
``drivers/topics.py``. Step t of an episode is stamped ``start + t / control_hz`` (``control_hz`` from the
file's ``env_args``, default 10), header stamp = log time; episodes follow each other with a 1 s gap.

=======================  ===============================  =================================================
topic                    type                             carries (per step unless noted)
=======================  ===============================  =================================================
``tcp_pose``             ``geometry_msgs/PoseStamped``    ``state.tcp_pose`` (7,) xyz + quat wxyz
``tcp_twist``            ``geometry_msgs/TwistStamped``   ``state.tcp_vel`` (6,)
``wrench``               ``geometry_msgs/WrenchStamped``  ``state.tcp_wrench`` (6,)
``joint_states``         ``sensor_msgs/JointState``       ``state.joint_pos``/``joint_vel``; joint1..n
``cameras/<cam>/image``  ``sensor_msgs/Image`` rgb8       ``images.<cam>`` (uint8 HxWx3)
``episode/obs``          ``std_msgs/Float64MultiArray``   every other obs key (gripper_pos, privileged.*,
                                                          ...): one layout dim per key, label = key
``episode/action``       ``std_msgs/Float64MultiArray``   ``actions[t]`` as stored (7-D or restricted)
``episode/step``         ``std_msgs/Float64MultiArray``   labelled ``rewards``, ``terminated``,
                                                          ``truncated``, ``is_intervention`` (0/1), extras
``episode/marker``       ``std_msgs/String`` (JSON)       at an episode's first and last step: ``event``
                                                          (start/end), ``episode``, ``index``, ``steps``,
                                                          ``attrs`` (success, seed, ...); the start marker
                                                          also: every key's dtype/shape/topic, ``env_args``
=======================  ===============================  =================================================

Observation rows 0..T share the step stamps; action t and step t are stamped with observation t. Numbers
travel as float64, so float32/float64 values, ints below 2**53 and bools come back exactly, with their dtypes.
"""

from __future__ import annotations

import itertools
import json
import shutil
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from drivers import topics as robot  # names only: drivers/topics.py imports no rclpy
from robot_rl.data import rosbag_msgs as m
from robot_rl.data.episodes import EpisodeWriter, read_env_meta, read_episodes
from robot_rl.data.layout import FLAG_KEYS, DatasetError, Episode, unflatten_obs
from robot_rl.data.rosbag_msgs import (
    CAMERA,
    EPISODE_ACTION,
    EPISODE_MARKER,
    EPISODE_OBS,
    EPISODE_STEP,
    TOPIC_TYPES,
)
from robot_rl.data.rosbag_recorded import RecordingOptions, recorded_episodes

GAP_NS = 10**9
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def export_bag(
    hdf5_path: str | Path,
    bag_dir: str | Path,
    namespace: str = "/robot",
    *,
    storage: str = "mcap",
    start_ns: int | None = None,
    overwrite: bool = False,
) -> int:
    """Write every complete episode of ``hdf5_path`` to a new rosbag2 folder; returns the episode count.

    :param start_ns: stamp of the first step; default the file's modification time.
    :param overwrite: replace ``bag_dir`` if it is a rosbag2 folder (one with metadata.yaml).
    """
    hdf5_path, bag_dir, ns = Path(hdf5_path), Path(bag_dir), _namespace(namespace)
    if storage not in STORAGES:
        raise DatasetError(f"storage={storage!r} is not one of {sorted(STORAGES)}")
    env_meta = read_env_meta(hdf5_path)
    control_hz = float(env_meta.get("control_hz", 10.0))
    if not control_hz > 0:
        raise DatasetError(f"{hdf5_path}: env_args control_hz={control_hz} must be > 0; fix the file")
    episodes = read_episodes(hdf5_path)  # one episode in memory at a time
    first = next(episodes, None)
    if first is None:
        raise DatasetError(f"{hdf5_path}: holds no complete episode to export; record some first")
    if bag_dir.exists():
        if not (overwrite and (bag_dir / "metadata.yaml").is_file()):
            raise DatasetError(
                f"{bag_dir}: exists; pass another bag folder, or overwrite=true to replace a rosbag2 folder"
            )
        shutil.rmtree(bag_dir)
    period_ns = round(1e9 / control_hz)
    stamp = hdf5_path.stat().st_mtime_ns if start_ns is None else int(start_ns)
    try:
        with Writer(bag_dir, version=9, storage_plugin=STORAGES[storage]) as writer:
            out = _BagOut(writer, ns)
            count = 0
            for episode in tqdm(itertools.chain([first], episodes), desc=f"export {bag_dir}", unit="episode"):
                stamp = _write_episode(out, episode, env_meta, stamp, period_ns) + GAP_NS
                count += 1
    except BaseException:
        shutil.rmtree(bag_dir, ignore_errors=True)  # no half-written bag that looks complete
        raise
    return count


def import_bag(
    bag_dir: str | Path,
    hdf5_path: str | Path,
    namespace: str = "/robot",
    *,
    mode: str = "a",
    recording: RecordingOptions | None = None,
) -> list[str]:
    """Append the bag's episodes to ``hdf5_path`` (``mode="w"`` overwrites); returns their ``demo_N`` names.

    A bag with ``<namespace>/episode/marker`` is read as written by ``export_bag``; any other is read as a
    recording of the robot topics with ``recording`` (control_hz, action_scale, ...).
    """
    ns = _namespace(namespace)
    bag = m.read_bag(bag_dir, lambda found: _known_topics(found, ns))
    if ns + EPISODE_MARKER in bag.messages:
        episodes, env_meta = _exported_episodes(bag, ns)
    else:
        episodes, env_meta = recorded_episodes(bag, ns, recording or RecordingOptions())
    with EpisodeWriter(hdf5_path, env_meta, mode=mode) as writer:
        try:
            return [writer.add_episode(**episode) for episode in episodes]
        except ValueError as err:  # e.g. a camera or the joint list changed size mid-recording
            raise DatasetError(f"{bag.path}: cannot store an episode: {err}") from None


def _namespace(namespace: str) -> str:
    """``"/robot"`` -> ``"/robot/"``; ``""`` or ``"/"`` -> ``"/"``."""
    ns = "/" + namespace.strip("/")
    return ns if ns == "/" else ns + "/"


def _known_topics(found: dict[str, str], ns: str) -> dict[str, str]:
    """The topics under ``ns`` that this module reads, each with the message type it must have (and the
    operator's take-over state at the root, where the launch files start teleop_node)."""
    known = {}
    for topic in found:
        rel = (
            topic[len(ns) :] if topic.startswith(ns) else topic[1:] if topic == f"/{m.INTERVENING}" else None
        )
        if rel in TOPIC_TYPES:
            known[topic] = TOPIC_TYPES[rel]
        elif rel is not None and CAMERA.fullmatch(rel):
            known[topic] = m.IMAGE
    return known


# ------------------------------------------------------------------------------------------ export
class _BagOut:
    """Connections made on first use; writes each message with log time = its stamp."""

    def __init__(self, writer: Writer, ns: str) -> None:
        self.writer, self.ns, self.connections = writer, ns, {}

    def write(self, rel: str, msg: m.Msg, stamp_ns: int) -> None:
        if rel not in self.connections:
            self.connections[rel] = self.writer.add_connection(
                self.ns + rel, msg.__msgtype__, typestore=m.TYPESTORE
            )
        self.writer.write(self.connections[rel], stamp_ns, m.serialize(msg))


def _write_episode(out: _BagOut, ep: Episode, env_meta: dict, start: int, period_ns: int) -> int:
    """Write one episode from stamp ``start``; returns the stamp of its last step."""
    steps, routes = len(ep), {key: m.obs_topic(key, ep.obs) for key in ep.obs}
    step_parts = {"rewards": ep.rewards, **{k: getattr(ep, k) for k in FLAG_KEYS}, **ep.extras}
    head = {"episode": ep.name, "index": int(ep.name.split("_")[1]), "steps": steps, "attrs": _attrs(ep)}
    schema = {
        "period_ns": period_ns,
        "obs": {k: [v.dtype.str, v.shape[1:], routes[k]] for k, v in ep.obs.items()},
        "actions": ep.actions.dtype.str,
        "step": {k: [np.asarray(v).dtype.str, np.shape(v)[1:]] for k, v in step_parts.items()},
        "env_args": env_meta,
    }
    out.write(EPISODE_MARKER, m.string_msg(json.dumps({"event": "start", **head, **schema})), start)
    joints = routes.get("state.joint_pos") == robot.JOINT_STATES
    names = [f"joint{i + 1}" for i in range(ep.obs["state.joint_pos"].shape[1])] if joints else []
    for t in range(steps + 1):
        stamp, row = start + t * period_ns, {k: v[t] for k, v in ep.obs.items()}
        for key, rel in routes.items():
            if rel not in (robot.JOINT_STATES, EPISODE_OBS):
                out.write(rel, m.state_msg(rel, row[key], stamp), stamp)
        if joints:
            velocity = row["state.joint_vel"] if routes.get("state.joint_vel") == robot.JOINT_STATES else []
            out.write(robot.JOINT_STATES, m.joints_msg(names, row["state.joint_pos"], velocity, stamp), stamp)
        if others := {k: row[k] for k, rel in routes.items() if rel == EPISODE_OBS}:
            out.write(EPISODE_OBS, m.parts_msg(others), stamp)
        if t < steps:
            out.write(EPISODE_ACTION, m.parts_msg({"actions": ep.actions[t]}), stamp)
            out.write(EPISODE_STEP, m.parts_msg({k: np.asarray(v)[t] for k, v in step_parts.items()}), stamp)
    end = start + steps * period_ns
    out.write(EPISODE_MARKER, m.string_msg(json.dumps({"event": "end", **head})), end)
    return end


def _attrs(ep: Episode) -> dict[str, Any]:
    def jsonable(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return {"ndarray": value.tolist(), "dtype": value.dtype.str}
        return value.item() if isinstance(value, np.generic) else value

    return {k: jsonable(v) for k, v in ep.attrs.items()}


# ------------------------------------------------------------------------------------ import (exported)
def _exported_episodes(bag: m.BagContents, ns: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    starts = []
    for log_ns, msg in bag.messages[ns + EPISODE_MARKER]:
        try:
            marker = json.loads(msg.data)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{bag.path}: {ns}{EPISODE_MARKER} holds invalid JSON ({err})") from None
        if marker.get("event") == "start":
            starts.append((log_ns, marker))
    if not starts:
        raise DatasetError(f"{bag.path}: {ns}{EPISODE_MARKER} has no start marker; re-export the bag")
    try:
        episodes = [_exported_episode(bag, ns, log_ns, marker) for log_ns, marker in starts]
        return episodes, starts[0][1]["env_args"]
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(
            f"{bag.path}: {ns}{EPISODE_MARKER} does not describe the bag's messages ({type(err).__name__}: "
            f"{err}); re-export it with robot-rl export-bag"
        ) from None


def _exported_episode(bag: m.BagContents, ns: str, start: int, marker: dict[str, Any]) -> dict[str, Any]:
    steps, name = int(marker["steps"]), marker["episode"]
    stop = start + steps * int(marker["period_ns"])

    def rows(rel: str, count: int) -> list[m.Msg]:
        messages = bag.messages.get(ns + rel, [])
        stamps = [t for t, _ in messages]
        window = messages[bisect_left(stamps, start) : bisect_right(stamps, stop)][:count]
        if len(window) != count:
            raise DatasetError(
                f"{bag.path}: {name} needs {count} messages on {ns}{rel} but has {len(window)}; "
                "the bag was cut or edited; re-export it"
            )
        return [msg for _, msg in window]

    obs = {}
    for key, (dtype, shape, rel) in marker["obs"].items():
        values = [m.obs_value(rel, key, msg, ns + rel) for msg in rows(rel, steps + 1)]
        obs[key] = np.stack(values).reshape(steps + 1, *shape).astype(dtype)
    actions = np.stack([m.parts_dict(x, ns + EPISODE_ACTION)["actions"] for x in rows(EPISODE_ACTION, steps)])
    step_rows = [m.parts_dict(x, ns + EPISODE_STEP) for x in rows(EPISODE_STEP, steps)]
    step = {
        k: np.stack([r[k] for r in step_rows]).reshape(steps, *shape).astype(dtype)
        for k, (dtype, shape) in marker["step"].items()
    }
    return {
        "obs": [unflatten_obs({k: v[t] for k, v in obs.items()}) for t in range(steps + 1)],
        "actions": actions.astype(marker["actions"]),
        **{k: step.pop(k) for k in ("rewards", *FLAG_KEYS)},
        "extras": step,
        "attrs": {k: _from_json(v) for k, v in marker["attrs"].items()},
    }


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"ndarray", "dtype"}:
        return np.asarray(value["ndarray"], dtype=value["dtype"])
    return value

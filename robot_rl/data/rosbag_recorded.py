"""Episodes from a recording of the robot topics (``ros2 bag record`` on the ROS path), for ``import_bag``.

Topics relative to the namespace (``drivers/topics.py``):

- ``tcp_pose`` (required) is the clock: its header stamps are resampled to ``control_hz`` by keeping a
  stamp when it lies at least 3/4 of a period after the last kept one (a robot publishing at
  ``control_hz`` keeps every tick; one publishing faster keeps about every n-th). A gap longer than
  ``split_gap_s`` between two ``tcp_pose`` stamps starts a new episode (``None``: one episode per bag).
- ``joint_states``, ``tcp_twist``, ``wrench``, ``cameras/<cam>/image``, ``task_state`` (each if present)
  are sampled at each kept tick: the latest message stamped at most 1/4 period after it (zero-order
  hold). Ticks before every present stream has a message are dropped.
  ``joint_states`` gives ``joint_pos``/``joint_vel`` (``arm_joints``, default all but ``gripper_joint``)
  and ``gripper_pos`` = gripper joint / ``gripper_open_m``, as ``RosRobotEnv`` does; ``task_state`` gives
  ``privileged`` parts, rewards (its ``reward`` at the tick after the step) and ``success``.
- ``cmd/twist`` (required) gives actions: the last command stamped in [tick t, tick t+1), divided by
  ``action_scale * control_hz`` (the inverse of ``RosRobotEnv.step``), clipped to [-1, 1]; no command in
  the window means the arm held still (zero twist). ``cmd/gripper`` ``[opening]`` gives the gripper
  action ``1 - 2 * opening``, held from the latest command; before the first one, from the measured
  ``gripper_pos`` (else -1, open).
- ``teleop/intervening`` (``std_msgs/Bool``, optional; under the namespace or at the root, where the
  launch files start teleop_node) gives ``is_intervention``: held value at tick t, or
  any ``true`` during the step.

Limits: header stamps (log time where a message has none or a zero stamp) of different machines are
compared as they are, so their clocks must agree (chrony/PTP) to well under a period; commands are
taken as executed (a safety layer's changes are not visible); the last step of an episode is truncated,
or terminated when ``task_state`` reports success at the last tick; without ``task_state`` rewards are 0
and ``success`` is unknown (not stored). The whole bag is read into memory.
"""

from __future__ import annotations

import itertools
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers import topics as robot
from robot_rl.data import rosbag_msgs as m
from robot_rl.data.layout import DatasetError

log = logging.getLogger(__name__)
STATE_TOPICS = (robot.JOINT_STATES, robot.TCP_TWIST, robot.WRENCH, robot.TASK_STATE)  # besides cameras


@dataclass(frozen=True)
class RecordingOptions:
    """How to turn a recording into episodes; ``env_meta`` is merged into the file's ``env_args``."""

    control_hz: float = 10.0
    action_scale: tuple[float, float] = (0.03, 0.15)  # metres, radians per step at action 1
    gripper_joint: str = "finger_joint1"
    gripper_open_m: float = 0.04
    arm_joints: tuple[str, ...] | None = None
    split_gap_s: float | None = 1.0
    env_meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.control_hz > 0 or len(self.action_scale) != 2 or min(self.action_scale) <= 0:
            raise ValueError(
                f"control_hz={self.control_hz} and action_scale={self.action_scale} must be > 0 "
                "(action_scale: [translation m, rotation rad] per step)"
            )


class _Stream:
    """One topic's messages sorted by stamp, with the latest-at-or-before lookup."""

    def __init__(self, messages: list[tuple[int, m.Msg]]) -> None:
        pairs = sorted(((m.stamp_ns(msg, t), msg) for t, msg in messages), key=lambda p: p[0])
        self.stamps = [s for s, _ in pairs]
        self.msgs = [msg for _, msg in pairs]

    def at(self, stamp: int) -> m.Msg | None:
        i = bisect_right(self.stamps, stamp) - 1
        return self.msgs[i] if i >= 0 else None

    def between(self, start: int, stop: int) -> list[m.Msg]:
        """Messages stamped in [start, stop)."""
        return self.msgs[bisect_left(self.stamps, start) : bisect_left(self.stamps, stop)]


def recorded_episodes(
    bag: m.BagContents, ns: str, opts: RecordingOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``EpisodeWriter.add_episode`` keywords for each episode of the recording, and the env_meta."""
    missing = [ns + rel for rel in (robot.TCP_POSE, robot.CMD_TWIST) if ns + rel not in bag.messages]
    if missing:
        raise DatasetError(
            f"{bag.path}: lacks {missing}, needed to import a recording (and has no {ns}{m.EPISODE_MARKER} "
            f"of an exported bag); it holds: {bag.found()}. Record the robot's topics, or pass the "
            "namespace they are under (namespace=...)"
        )
    streams = {t[len(ns) :]: _Stream(msgs) for t, msgs in bag.messages.items() if t.startswith(ns)}
    if m.INTERVENING not in streams and f"/{m.INTERVENING}" in bag.messages:  # teleop_node at the root
        streams[m.INTERVENING] = _Stream(bag.messages[f"/{m.INTERVENING}"])
    period = round(1e9 / opts.control_hz)
    episodes = []
    for ticks in _segments(streams[robot.TCP_POSE].stamps, period, opts.split_gap_s):
        state_topics = [rel for rel in streams if rel in STATE_TOPICS or m.CAMERA.fullmatch(rel)]
        ticks = [
            s for s in ticks if all(streams[rel].at(s + period // 4) is not None for rel in state_topics)
        ]
        if len(ticks) < 2:
            log.warning(
                "%s: skipping a stretch of %d control ticks (an episode needs 2)", bag.path, len(ticks)
            )
            continue
        episodes.append(_episode(streams, ticks, period, opts, str(bag.path)))
    if not episodes:
        raise DatasetError(f"{bag.path}: no stretch of {ns}{robot.TCP_POSE} with 2 or more control ticks")
    meta = {"source": "rosbag", "control_hz": opts.control_hz, "action_scale": list(opts.action_scale)}
    return episodes, {**meta, **(opts.env_meta or {})}


def _segments(stamps: list[int], period: int, split_gap_s: float | None) -> list[list[int]]:
    """Control ticks (kept stamps), split where the state stream has a gap."""
    segments: list[list[int]] = [[]]
    gap = None if split_gap_s is None else round(split_gap_s * 1e9)
    for i, stamp in enumerate(stamps):
        if i > 0 and gap is not None and stamp - stamps[i - 1] > gap:
            segments.append([])
        ticks = segments[-1]
        if not ticks or stamp >= ticks[-1] + period - period // 4:
            ticks.append(stamp)
    return segments


def _episode(
    streams: dict[str, _Stream], ticks: list[int], period: int, opts: RecordingOptions, bag: str
) -> dict[str, Any]:
    obs = [_observation(streams, s, s + period // 4, opts) for s in ticks]
    task = streams.get(robot.TASK_STATE)
    parts = [m.parts_dict(task.at(s + period // 4), robot.TASK_STATE) for s in ticks] if task else []
    steps = len(ticks) - 1
    actions = np.zeros((steps, 7), np.float32)
    scale = np.repeat(np.asarray(opts.action_scale) * opts.control_hz, 3)
    no_command = 0
    for t in range(steps):
        commands = streams[robot.CMD_TWIST].between(ticks[t], ticks[t + 1])
        no_command += not commands
        actions[t, :6] = m.twist_from_msg(commands[-1]) / scale if commands else 0.0
        actions[t, 6] = _gripper_action(streams.get(robot.CMD_GRIPPER), ticks[t + 1] - 1, obs[t])
    clipped = int(np.sum(np.abs(actions) > 1 + 1e-6))
    if clipped or no_command:
        log.warning(
            "%s: %d action values beyond [-1, 1] clipped (check action_scale/control_hz); %d of %d steps "
            "had no cmd/twist (taken as holding still)",
            bag,
            clipped,
            no_command,
            steps,
        )
    # task_state (simulation, or a success detector) at tick t+1 holds step t's reward and success.
    rewards = np.array([p.get("reward", [0.0])[0] for p in parts[1:]]) if parts else np.zeros(steps)
    success = bool(parts and parts[-1].get("success", [0.0])[0] > 0.5)
    attrs: dict[str, Any] = {"source": "rosbag", "bag": bag, "start_ns": ticks[0]}
    if parts:
        attrs["success"] = success
    return {
        "obs": obs,
        "actions": np.clip(actions, -1.0, 1.0),
        "rewards": rewards,
        "terminated": np.arange(steps) == (steps - 1 if success else -1),
        "truncated": np.arange(steps) == (-1 if success else steps - 1),
        "is_intervention": _interventions(streams.get(m.INTERVENING), ticks),
        "attrs": attrs,
    }


def _observation(streams: dict[str, _Stream], tick: int, until: int, opts: RecordingOptions) -> dict:
    state = {"tcp_pose": m.pose_from_msg(streams[robot.TCP_POSE].at(tick))}
    if robot.TCP_TWIST in streams:
        state["tcp_vel"] = m.twist_from_msg(streams[robot.TCP_TWIST].at(until))
    if robot.WRENCH in streams:
        state["tcp_wrench"] = m.wrench_from_msg(streams[robot.WRENCH].at(until))
    if robot.JOINT_STATES in streams:
        state.update(_joints(streams[robot.JOINT_STATES].at(until), opts))
    obs: dict[str, Any] = {"state": {k: np.asarray(v, np.float32) for k, v in state.items()}}
    cams = {m.CAMERA.fullmatch(rel)[1]: s for rel, s in streams.items() if m.CAMERA.fullmatch(rel)}
    if cams:
        obs["images"] = {cam: m.image_array(s.at(until), cam) for cam, s in cams.items()}
    if robot.TASK_STATE in streams:
        parts = m.parts_dict(streams[robot.TASK_STATE].at(until), robot.TASK_STATE)
        privileged = {k: v.astype(np.float32) for k, v in parts.items() if k not in robot.TASK_FIELDS}
        if privileged:
            obs["privileged"] = privileged
    return obs


def _joints(msg: m.Msg, opts: RecordingOptions) -> dict[str, np.ndarray]:
    names = list(msg.name)
    arm = list(opts.arm_joints) if opts.arm_joints else [n for n in names if n != opts.gripper_joint]
    if missing := [j for j in arm if j not in names]:
        raise DatasetError(f"joint_states names {names}, not the arm joints {missing}; pass arm_joints=[...]")
    position, velocity = np.asarray(msg.position), np.asarray(msg.velocity)
    index = [names.index(j) for j in arm]
    out = {
        "joint_pos": position[index],
        "joint_vel": velocity[index] if len(velocity) else 0 * position[index],
    }
    if opts.gripper_joint in names:
        out["gripper_pos"] = position[[names.index(opts.gripper_joint)]] / opts.gripper_open_m
    return out


def _gripper_action(stream: _Stream | None, until: int, obs: dict) -> float:
    msg = stream.at(until) if stream else None
    if msg is not None and len(msg.data):
        return float(np.clip(1.0 - 2.0 * msg.data[0], -1.0, 1.0))
    gripper = obs["state"].get("gripper_pos")
    return float(np.clip(1.0 - 2.0 * gripper[0], -1.0, 1.0)) if gripper is not None else -1.0


def _interventions(stream: _Stream | None, ticks: list[int]) -> np.ndarray:
    if stream is None:
        return np.zeros(len(ticks) - 1, bool)
    flags = []
    for start, stop in itertools.pairwise(ticks):
        held = stream.at(start)
        flags.append(
            bool(held is not None and held.data) or any(x.data for x in stream.between(start + 1, stop))
        )
    return np.array(flags, bool)

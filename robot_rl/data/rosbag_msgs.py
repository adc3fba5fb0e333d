"""Standard ROS 2 messages <-> numpy with ``rosbags`` (pure Python, no rclpy), the bag's topic names
besides the robot's (``drivers/topics.py``), and a bag reader whose every failure is a ``DatasetError``
naming the bag, the cause and the fix.

The mirror of ``drivers/ros_messages.py`` for bag files: the same field conventions (pose = xyz + quat
wxyz, twist/wrench = linear/force + angular/torque, rgb8 images, labelled ``Float64MultiArray`` parts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from drivers import topics as robot  # names only: drivers/topics.py imports no rclpy
from drivers.msg_decode import image_from_msg, parts_from_msg, pose_from_msg, twist_from_msg, wrench_from_msg
from robot_rl.data.layout import DatasetError

TYPESTORE = get_typestore(Stores.ROS2_KILTED)  # standard messages are the same in Humble ... Kilted
POSE = "geometry_msgs/msg/PoseStamped"
TWIST = "geometry_msgs/msg/TwistStamped"
WRENCH = "geometry_msgs/msg/WrenchStamped"
JOINTS = "sensor_msgs/msg/JointState"
IMAGE = "sensor_msgs/msg/Image"
ARRAY = "std_msgs/msg/Float64MultiArray"
STRING = "std_msgs/msg/String"
BOOL = "std_msgs/msg/Bool"

# Topics a bag holds besides the robot's (drivers/topics.py), relative to the namespace.
EPISODE_OBS = "episode/obs"
EPISODE_ACTION = "episode/action"
EPISODE_STEP = "episode/step"
EPISODE_MARKER = "episode/marker"
INTERVENING = "teleop/intervening"  # std_msgs/Bool: the operator holds control
TOPIC_TYPES = {
    robot.TCP_POSE: POSE,
    robot.TCP_TWIST: TWIST,
    robot.WRENCH: WRENCH,
    robot.JOINT_STATES: JOINTS,
    robot.TASK_STATE: ARRAY,
    robot.CMD_TWIST: TWIST,
    robot.CMD_GRIPPER: ARRAY,
    INTERVENING: BOOL,
    EPISODE_OBS: ARRAY,
    EPISODE_ACTION: ARRAY,
    EPISODE_STEP: ARRAY,
    EPISODE_MARKER: STRING,
}
CAMERA = re.compile(r"cameras/([^/]+)/image")

_T = TYPESTORE.types
Msg = Any  # a rosbags message dataclass


def serialize(msg: Msg) -> bytes:
    return bytes(TYPESTORE.serialize_cdr(msg, msg.__msgtype__))


# ----------------------------------------------------------------------------------------- numpy -> msg
def _header(stamp_ns: int, frame_id: str) -> Msg:
    time = _T["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return _T["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)


def _vector(values: np.ndarray, kind: str = "Vector3") -> Msg:
    x, y, z = (float(v) for v in values)
    return _T[f"geometry_msgs/msg/{kind}"](x=x, y=y, z=z)


def pose_msg(pose: np.ndarray, stamp_ns: int, frame_id: str) -> Msg:
    """(7,) xyz + quaternion wxyz -> PoseStamped."""
    w, x, y, z = (float(v) for v in pose[3:7])
    quat = _T["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w)
    body = _T["geometry_msgs/msg/Pose"](position=_vector(pose[:3], "Point"), orientation=quat)
    return _T[POSE](header=_header(stamp_ns, frame_id), pose=body)


def twist_msg(twist: np.ndarray, stamp_ns: int, frame_id: str) -> Msg:
    body = _T["geometry_msgs/msg/Twist"](linear=_vector(twist[:3]), angular=_vector(twist[3:6]))
    return _T[TWIST](header=_header(stamp_ns, frame_id), twist=body)


def wrench_msg(wrench: np.ndarray, stamp_ns: int, frame_id: str) -> Msg:
    body = _T["geometry_msgs/msg/Wrench"](force=_vector(wrench[:3]), torque=_vector(wrench[3:6]))
    return _T[WRENCH](header=_header(stamp_ns, frame_id), wrench=body)


def joints_msg(names: list[str], position: np.ndarray, velocity: np.ndarray, stamp_ns: int) -> Msg:
    return _T[JOINTS](
        header=_header(stamp_ns, ""),
        name=names,
        position=np.asarray(position, np.float64),
        velocity=np.asarray(velocity, np.float64),
        effort=np.zeros(0, np.float64),
    )


def image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str) -> Msg:
    height, width = rgb.shape[:2]
    return _T[IMAGE](
        header=_header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(rgb, np.uint8).reshape(-1),
    )


def parts_msg(parts: Mapping[str, np.ndarray]) -> Msg:
    """Named parts in one Float64MultiArray: one layout dimension per part (label = name, size = numel)."""
    values = [np.asarray(v, np.float64).reshape(-1) for v in parts.values()]
    dims = [
        _T["std_msgs/msg/MultiArrayDimension"](label=name, size=len(v), stride=len(v))
        for name, v in zip(parts, values, strict=True)
    ]
    layout = _T["std_msgs/msg/MultiArrayLayout"](dim=dims, data_offset=0)
    return _T[ARRAY](layout=layout, data=np.concatenate(values) if values else np.zeros(0))


def string_msg(text: str) -> Msg:
    return _T[STRING](data=text)


def bool_msg(value: bool) -> Msg:
    return _T[BOOL](data=bool(value))


# ----------------------------------------------------------------------------------------- msg -> numpy
def stamp_ns(msg: Msg, log_ns: int) -> int:
    """The header stamp in ns; the bag's log time for messages without one or with a zero stamp."""
    header = getattr(msg, "header", None)
    if header is None or (header.stamp.sec == 0 and header.stamp.nanosec == 0):
        return log_ns
    return int(header.stamp.sec) * 10**9 + int(header.stamp.nanosec)


def image_array(msg: Msg, topic: str) -> np.ndarray:
    """uint8 HxWx3 RGB from an rgb8/bgr8 Image; other encodings are refused."""
    try:
        return image_from_msg(msg)
    except ValueError as err:
        raise DatasetError(f"{topic}: {err}") from None


def parts_dict(msg: Msg, topic: str) -> dict[str, np.ndarray]:
    try:
        return parts_from_msg(msg)
    except ValueError as err:
        raise DatasetError(f"{topic}: {err}") from None


# ------------------------------------------------------------------------ observation keys <-> topics
def obs_topic(key: str, obs: Mapping[str, np.ndarray]) -> str:
    """The topic (relative to the namespace) that carries observation ``key`` (``obs``: key -> (T+1, ...))."""
    shape, dtype = obs[key].shape[1:], obs[key].dtype
    single = {
        "state.tcp_pose": robot.TCP_POSE,
        "state.tcp_vel": robot.TCP_TWIST,
        "state.tcp_wrench": robot.WRENCH,
    }
    if key in single and shape == ((7,) if key == "state.tcp_pose" else (6,)):
        return single[key]
    joint_pos = obs.get("state.joint_pos")
    joints = joint_pos.shape[1:] if joint_pos is not None and joint_pos.ndim == 2 else None
    if joints and (key == "state.joint_pos" or (key == "state.joint_vel" and shape == joints)):
        return robot.JOINT_STATES  # joint_vel rides along when it has joint_pos's length
    group, _, cam = key.partition(".")
    if group == "images" and "." not in cam and dtype == np.uint8 and len(shape) == 3 and shape[2] == 3:
        return robot.camera_topic(cam)
    return EPISODE_OBS


def state_msg(rel: str, value: np.ndarray, stamp_ns: int) -> Msg:
    """The message of a one-key topic: ``tcp_pose``, ``tcp_twist``, ``wrench`` or a camera."""
    if rel == robot.TCP_POSE:
        return pose_msg(value, stamp_ns, robot.BASE_FRAME)
    if rel == robot.TCP_TWIST:
        return twist_msg(value, stamp_ns, robot.BASE_FRAME)
    if rel == robot.WRENCH:
        return wrench_msg(value, stamp_ns, robot.BASE_FRAME)
    return image_msg(value, stamp_ns, rel.split("/")[1])


def obs_value(rel: str, key: str, msg: Msg, topic: str) -> np.ndarray:
    """Observation ``key`` from a message of topic ``rel`` (the inverse of ``obs_topic``)."""
    if rel == robot.TCP_POSE:
        return pose_from_msg(msg)
    if rel == robot.TCP_TWIST:
        return twist_from_msg(msg)
    if rel == robot.WRENCH:
        return wrench_from_msg(msg)
    if rel == robot.JOINT_STATES:
        return np.asarray(msg.position if key == "state.joint_pos" else msg.velocity)
    if rel == EPISODE_OBS:
        return parts_dict(msg, topic)[key]
    return image_array(msg, topic)


# ------------------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class BagContents:
    """Messages of the selected topics, each ``(log time ns, message)`` in log-time order."""

    path: Path
    topics: dict[str, str]  # every topic in the bag -> its message type
    messages: dict[str, list[tuple[int, Msg]]]

    def found(self) -> str:
        return ", ".join(f"{t} ({m})" for t, m in sorted(self.topics.items())) or "no topics"


def read_bag(path: str | Path, select: Callable[[dict[str, str]], Mapping[str, str]]) -> BagContents:
    """Read a rosbag2 (a folder with metadata.yaml, or a bare .mcap/.db3 file).

    :param select: all topics -> the topics to read, each with the message type it must have.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such bag; pass a rosbag2 folder (with metadata.yaml) or a .mcap file")
    try:
        with Reader(path) as reader:
            topics = {c.topic: c.msgtype for c in reader.connections}
            wanted = dict(select(topics))
            wrong = {t: topics[t] for t, m in wanted.items() if topics.get(t) not in (None, m)}
            if wrong:
                raise DatasetError(
                    f"{path}: topics with unexpected message types {wrong}; expected "
                    f"{ {t: wanted[t] for t in wrong} }"
                )
            connections = [c for c in reader.connections if c.topic in wanted]
            messages: dict[str, list[tuple[int, Msg]]] = {t: [] for t in wanted if t in topics}
            for conn, log_ns, raw in reader.messages(connections=connections) if connections else ():
                messages[conn.topic].append((log_ns, TYPESTORE.deserialize_cdr(raw, conn.msgtype)))
    except DatasetError:
        raise
    except Exception as err:  # rosbags, mcap and sqlite raise many types for a damaged bag
        raise DatasetError(
            f"{path}: not a readable rosbag2 ({type(err).__name__}: {err}); pass a rosbag2 folder "
            "(metadata.yaml + .mcap/.db3) or a .mcap file; a recording whose recorder was killed may be "
            "repaired with `ros2 bag reindex`"
        ) from None
    return BagContents(path, topics, messages)

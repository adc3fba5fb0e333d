"""numpy -> standard ROS 2 messages (and back, from msg_decode.py), for the topics of drivers/topics.py."""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray, MultiArrayDimension

# The decoders live in msg_decode.py (no rclpy import, so the rosbag reader uses them too); re-exported.
from drivers.msg_decode import (  # noqa: F401
    image_from_msg,
    parts_from_msg,
    pose_from_msg,
    twist_from_msg,
    wrench_from_msg,
)
from drivers.topics import BASE_FRAME


def image_msg(rgb: np.ndarray, stamp: Time, frame_id: str) -> Image:
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3)
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.data = array.array("B", np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return msg


def pose_msg(pos: np.ndarray, quat_wxyz: np.ndarray, stamp: Time) -> PoseStamped:
    msg = _stamped(PoseStamped, stamp)
    _set_xyz(msg.pose.position, pos)
    q = msg.pose.orientation
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def _set_xyz(vector, values: np.ndarray) -> None:
    vector.x, vector.y, vector.z = (float(v) for v in values)


def _stamped(msg_type: type, stamp: Time):
    msg = msg_type()
    msg.header.stamp, msg.header.frame_id = stamp, BASE_FRAME
    return msg


def twist_msg(linear: np.ndarray, angular: np.ndarray, stamp: Time) -> TwistStamped:
    msg = _stamped(TwistStamped, stamp)
    _set_xyz(msg.twist.linear, linear)
    _set_xyz(msg.twist.angular, angular)
    return msg


def wrench_msg(force: np.ndarray, torque: np.ndarray, stamp: Time) -> WrenchStamped:
    msg = _stamped(WrenchStamped, stamp)
    _set_xyz(msg.wrench.force, force)
    _set_xyz(msg.wrench.torque, torque)
    return msg


def parts_msg(parts: dict[str, np.ndarray]) -> Float64MultiArray:
    """Named 1-D parts in one array; each layout dimension is a part (label = name, size = length)."""
    msg = Float64MultiArray()
    values = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in parts.values()]
    msg.layout.dim = [
        MultiArrayDimension(label=name, size=len(v), stride=len(v))
        for name, v in zip(parts, values, strict=False)
    ]
    msg.data = np.concatenate(values).tolist() if values else []
    return msg

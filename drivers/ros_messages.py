"""numpy <-> standard ROS 2 messages, for the topics of ``drivers/topics.py``."""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray, MultiArrayDimension

from drivers.topics import BASE_FRAME


def image_msg(rgb: np.ndarray, stamp: Time, frame_id: str) -> Image:
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3)
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.data = array.array("B", np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return msg


def image_from_msg(msg: Image) -> np.ndarray:
    """uint8 HxWx3 RGB; ``bgr8`` is converted, other encodings are refused."""
    if msg.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"image encoding {msg.encoding!r} is not rgb8/bgr8; publish rgb8 images")
    img = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * 3]
    img = img.reshape(msg.height, msg.width, 3)
    return np.ascontiguousarray(img[..., ::-1] if msg.encoding == "bgr8" else img)


def pose_msg(pos: np.ndarray, quat_wxyz: np.ndarray, stamp: Time) -> PoseStamped:
    msg = _stamped(PoseStamped, stamp)
    _set_xyz(msg.pose.position, pos)
    q = msg.pose.orientation
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def pose_from_msg(msg: PoseStamped) -> np.ndarray:
    """(7,) xyz + quaternion wxyz."""
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z, q.w, q.x, q.y, q.z])


def _set_xyz(vector, values: np.ndarray) -> None:
    vector.x, vector.y, vector.z = (float(v) for v in values)


def _xyz(vector) -> list[float]:
    return [vector.x, vector.y, vector.z]


def _stamped(msg_type: type, stamp: Time):
    msg = msg_type()
    msg.header.stamp, msg.header.frame_id = stamp, BASE_FRAME
    return msg


def twist_msg(linear: np.ndarray, angular: np.ndarray, stamp: Time) -> TwistStamped:
    msg = _stamped(TwistStamped, stamp)
    _set_xyz(msg.twist.linear, linear)
    _set_xyz(msg.twist.angular, angular)
    return msg


def twist_from_msg(msg: TwistStamped) -> np.ndarray:
    """(6,) linear + angular."""
    return np.array(_xyz(msg.twist.linear) + _xyz(msg.twist.angular))


def wrench_msg(force: np.ndarray, torque: np.ndarray, stamp: Time) -> WrenchStamped:
    msg = _stamped(WrenchStamped, stamp)
    _set_xyz(msg.wrench.force, force)
    _set_xyz(msg.wrench.torque, torque)
    return msg


def wrench_from_msg(msg: WrenchStamped) -> np.ndarray:
    """(6,) force + torque."""
    return np.array(_xyz(msg.wrench.force) + _xyz(msg.wrench.torque))


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


def parts_from_msg(msg: Float64MultiArray) -> dict[str, np.ndarray]:
    data = np.asarray(msg.data, dtype=np.float64)
    sizes = [d.size for d in msg.layout.dim]
    if sum(sizes) != len(data):
        raise ValueError(f"task_state layout sizes {sizes} do not add up to {len(data)} values")
    out, start = {}, 0
    for dim in msg.layout.dim:
        out[dim.label] = data[start : start + dim.size]
        start += dim.size
    return out

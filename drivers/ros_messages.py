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
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = stamp, BASE_FRAME
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in pos)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def pose_from_msg(msg: PoseStamped) -> np.ndarray:
    """(7,) xyz + quaternion wxyz."""
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z, q.w, q.x, q.y, q.z])


def twist_msg(linear: np.ndarray, angular: np.ndarray, stamp: Time) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp, msg.header.frame_id = stamp, BASE_FRAME
    lin, ang = msg.twist.linear, msg.twist.angular
    lin.x, lin.y, lin.z = (float(v) for v in linear)
    ang.x, ang.y, ang.z = (float(v) for v in angular)
    return msg


def twist_from_msg(msg: TwistStamped) -> np.ndarray:
    """(6,) linear + angular."""
    lin, ang = msg.twist.linear, msg.twist.angular
    return np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z])


def wrench_msg(force: np.ndarray, torque: np.ndarray, stamp: Time) -> WrenchStamped:
    msg = WrenchStamped()
    msg.header.stamp, msg.header.frame_id = stamp, BASE_FRAME
    f, t = msg.wrench.force, msg.wrench.torque
    f.x, f.y, f.z = (float(v) for v in force)
    t.x, t.y, t.z = (float(v) for v in torque)
    return msg


def wrench_from_msg(msg: WrenchStamped) -> np.ndarray:
    """(6,) force + torque."""
    f, t = msg.wrench.force, msg.wrench.torque
    return np.array([f.x, f.y, f.z, t.x, t.y, t.z])


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

"""ROS 2 messages -> numpy, for the topics of ``drivers/topics.py``.

Duck-typed on the message fields and free of rclpy imports, so the same decoders read live rclpy messages
(``drivers/ros_messages.py`` re-exports them) and the ``rosbags`` messages of a recorded bag
(``robot_rl/data/rosbag_msgs.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def image_from_msg(msg: Any) -> np.ndarray:
    """uint8 HxWx3 RGB; ``bgr8`` is converted, other encodings are refused."""
    if msg.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"image encoding {msg.encoding!r} is not rgb8/bgr8; publish rgb8 images")
    img = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * 3]
    img = img.reshape(msg.height, msg.width, 3)
    return np.ascontiguousarray(img[..., ::-1] if msg.encoding == "bgr8" else img)


def pose_from_msg(msg: Any) -> np.ndarray:
    """(7,) xyz + quaternion wxyz."""
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z, q.w, q.x, q.y, q.z])


def _xyz(vector: Any) -> list[float]:
    return [vector.x, vector.y, vector.z]


def twist_from_msg(msg: Any) -> np.ndarray:
    """(6,) linear + angular."""
    return np.array(_xyz(msg.twist.linear) + _xyz(msg.twist.angular))


def wrench_from_msg(msg: Any) -> np.ndarray:
    """(6,) force + torque."""
    return np.array(_xyz(msg.wrench.force) + _xyz(msg.wrench.torque))


def parts_from_msg(msg: Any) -> dict[str, np.ndarray]:
    data = np.asarray(msg.data, dtype=np.float64)
    sizes = [d.size for d in msg.layout.dim]
    if sum(sizes) != len(data):
        raise ValueError(f"task_state layout sizes {sizes} do not add up to {len(data)} values")
    out, start = {}, 0
    for dim in msg.layout.dim:
        out[dim.label] = data[start : start + dim.size]
        start += dim.size
    return out

"""camera_node: an OpenCV capture (device index, device path, or a video file) as ``sensor_msgs/Image``.

Publishes rgb8 frames on ``cameras/<name>/image`` (in the robot's namespace, so ``RosRobotEnv`` finds
them), cropped (``crop`` = [top, left, height, width], empty: none), resized to ``size`` x ``size`` and
at ``rate_hz``. A video file loops. A camera that cannot be opened is one error that names the source
and lists the video devices present.

Parameters: ``name`` (front), ``source`` (0, /dev/video2, clip.mp4), ``crop``, ``size`` (128),
``rate_hz`` (30).
"""

from __future__ import annotations

import glob

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import Image

from drivers import topics
from drivers.ros_messages import image_msg
from robot_rl.errors import DeviceError
from robot_rl.nodes.common import declare, run_node


class CameraNotFound(DeviceError):
    pass


def open_capture(source: str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        devices = sorted(glob.glob("/dev/video*")) or ["none"]
        raise CameraNotFound(
            f"camera source {source!r} cannot be opened; video devices here: {', '.join(devices)}. "
            "Pass source:=<index>, a /dev/video* path or a video file"
        )
    return capture


def prepare(frame_bgr: np.ndarray, crop: list[int], size: int) -> np.ndarray:
    """BGR capture frame -> cropped, resized RGB uint8 (size, size, 3)."""
    if crop:
        top, left, height, width = crop
        frame_bgr = frame_bgr[top : top + height, left : left + width]
    frame = cv2.resize(frame_bgr, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame[..., ::-1])


def body(node: Node) -> int:
    name = declare(node, "name", "front")
    source = declare(node, "source", "0")  # a device index, a /dev path or a video file
    crop = list(node.declare_parameter("crop", [0, 0, 0, 0]).value)
    size = declare(node, "size", 128)
    rate_hz = declare(node, "rate_hz", 30.0)
    crop = crop if any(crop) else []
    capture = open_capture(source)
    is_file = not source.isdigit() and not source.startswith("/dev/")
    publisher = node.create_publisher(Image, topics.camera_topic(name), 10)

    def grab() -> None:
        ok, frame = capture.read()
        if not ok and is_file:  # a video file loops
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = capture.read()
        if not ok:
            node.get_logger().error(f"camera {name!r} ({source}) returned no frame")
            return
        publisher.publish(image_msg(prepare(frame, crop, size), node.get_clock().now().to_msg(), name))

    node.create_timer(1.0 / rate_hz, grab)
    node.get_logger().info(
        f"camera {name!r} from {source} -> {node.resolve_topic_name(topics.camera_topic(name))}"
    )
    try:
        rclpy.spin(node)
    finally:
        capture.release()
    return 0


def main() -> int:
    return run_node("camera", body)


if __name__ == "__main__":
    raise SystemExit(main())

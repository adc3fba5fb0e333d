"""reward_classifier_node: a trained success classifier over a robot's camera topics.

Subscribes to ``cameras/<name>/image`` for every camera the classifier was trained on (and ``tcp_pose``
/ ``tcp_twist`` when it reads ``tcp_pose`` / ``tcp_vel``), in the robot's namespace, and publishes
``reward_classifier/probability`` (``std_msgs/Float32``) and ``reward_classifier/success``
(``std_msgs/Bool``, probability >= the calibrated threshold) once per frame of the first camera, using
the newest message of every other input. The classifier's own ``probability`` does the preprocessing,
so the node sees exactly what the training saw. A classifier slower than the camera skips frames: it
always judges the newest one.

Parameters: ``classifier`` (the folder `robot-rl train-classifier` wrote).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32

from drivers import topics
from drivers.ros_messages import image_from_msg, pose_from_msg, twist_from_msg
from robot_rl.errors import ConfigError
from robot_rl.nodes.common import run_node

#: state keys the node can feed: key -> (topic, message type, conversion)
STATE_TOPICS: dict[str, tuple[str, type, Callable[[Any], np.ndarray]]] = {
    "tcp_pose": (topics.TCP_POSE, PoseStamped, pose_from_msg),
    "tcp_vel": (topics.TCP_TWIST, TwistStamped, twist_from_msg),
}


class RewardClassifierNode:
    def __init__(self, node: Node, classifier: Any) -> None:
        self.node, self.classifier = node, classifier
        cameras, state_keys = list(classifier.spec.cameras), list(classifier.spec.state_keys)
        unknown = [k for k in state_keys if k not in STATE_TOPICS]
        if unknown:
            raise ConfigError(
                f"the classifier reads state keys {unknown} that reward_classifier_node cannot subscribe to "
                f"(it can: {sorted(STATE_TOPICS)}); train one on images and those keys only"
            )
        self.images: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.first = cameras[0]
        # Depth 1: a classifier slower than the camera judges the newest frame, never a queue of old ones
        # (a verdict seconds late would end an episode long after its success, or score a later frame).
        for camera in cameras:
            node.create_subscription(Image, topics.camera_topic(camera), self._on_image(camera), 1)
        for key in state_keys:
            topic, msg_type, convert = STATE_TOPICS[key]
            node.create_subscription(msg_type, topic, self._on_state(key, convert), 1)
        self.pub_probability = node.create_publisher(Float32, "reward_classifier/probability", 10)
        self.pub_success = node.create_publisher(Bool, "reward_classifier/success", 10)
        self.needed = len(cameras) + len(state_keys)

    def _on_image(self, camera: str) -> Callable[[Image], None]:
        def keep(msg: Image) -> None:
            self.images[camera] = image_from_msg(msg)
            if camera == self.first:
                self._publish()

        return keep

    def _on_state(self, key: str, convert: Callable[[Any], np.ndarray]) -> Callable[[Any], None]:
        def keep(msg: Any) -> None:
            self.state[key] = convert(msg)

        return keep

    def _publish(self) -> None:
        if len(self.images) + len(self.state) < self.needed:
            return  # not every input has arrived yet
        probability = self.classifier.probability({"images": self.images, "state": self.state})
        self.pub_probability.publish(Float32(data=float(probability)))
        self.pub_success.publish(Bool(data=bool(probability >= self.classifier.threshold)))


def body(node: Node) -> int:
    from robot_rl.errors import CheckpointError
    from robot_rl.rewards import RewardClassifier

    folder = str(node.declare_parameter("classifier", "").value)
    if not folder:
        raise ConfigError("pass -p classifier:=<folder of robot-rl train-classifier>")
    try:
        classifier = RewardClassifier.load(folder)
    except CheckpointError as err:
        raise ConfigError(str(err)) from None
    RewardClassifierNode(node, classifier)
    node.get_logger().info(
        f"reward classifier {folder}: cameras {list(classifier.spec.cameras)}, "
        f"threshold {classifier.threshold:.3f}"
    )
    rclpy.spin(node)
    return 0


def main() -> int:
    return run_node("reward_classifier", body)


if __name__ == "__main__":
    raise SystemExit(main())

"""reward_classifier_node over real topics: camera_node replays a clip, the node publishes the success
probability of each frame — the same number the classifier gives in process for that frame."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.rewards import RewardClassifier
from robot_rl.rewards.model import ModelConfig, SuccessClassifier
from robot_rl.rewards.preprocess import InputSpec
from tests.processes import BIN, RosProbe, running

pytest.importorskip("rclpy")
CLIP = Path(__file__).resolve().parents[1] / "launch" / "assets" / "front_clip.mp4"


@pytest.fixture
def classifier_folder(tmp_path) -> Path:
    torch.manual_seed(0)
    spec, cfg = InputSpec(cameras=("front",), image_size=64), ModelConfig(feature_dim=8, channels=8)
    return RewardClassifier(SuccessClassifier(spec, cfg), spec, cfg, threshold=0.5).save(tmp_path / "clf")


@pytest.mark.ros
def test_node_publishes_the_classifier_probability_of_each_frame(
    ros_env, tmp_path, classifier_folder
) -> None:
    from sensor_msgs.msg import Image
    from std_msgs.msg import Bool, Float32

    from drivers.ros_messages import image_from_msg

    probe = RosProbe()
    images = probe.record(Image, "/robot/cameras/front/image")
    probabilities = probe.record(Float32, "/robot/reward_classifier/probability")
    verdicts = probe.record(Bool, "/robot/reward_classifier/success")
    camera = [str(BIN / "camera_node"), "--ros-args", "-r", "__ns:=/robot", "-p", "name:=front",
              "-p", f"source:={CLIP}", "-p", "size:=64", "-p", "rate_hz:=10.0"]  # fmt: skip
    node = [str(BIN / "reward_classifier_node"), "--ros-args", "-r", "__ns:=/robot",
            "-p", f"classifier:={classifier_folder}"]  # fmt: skip
    try:
        with running(camera, ros_env, tmp_path / "camera.log"), running(node, ros_env, tmp_path / "node.log"):
            # Verdicts on frames the probe saw too: from well after the probe's first frame (under load
            # the probe may discover the camera later than the node does).
            def judged() -> list:
                return [i for i, (t, _) in enumerate(probabilities) if images and t > images[0][0] + 0.5]

            deadline = time.monotonic() + 30
            while len(judged()) < 10 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        probe.close()
    compared = judged()
    assert len(compared) >= 10, (tmp_path / "node.log").read_text()[-2000:]
    classifier = RewardClassifier.load(classifier_folder)
    expected = np.array([classifier.probability({"images": {"front": image_from_msg(m)}}) for _, m in images])
    assert np.ptp(expected) > 1e-4  # the frames differ, so a match below means the same frame
    verdict_times = np.array([t for t, _ in verdicts])
    assert len(verdict_times) >= len(compared) // 2
    for i in compared:
        received, published = probabilities[i]
        assert np.min(np.abs(expected - published.data)) < 1e-5
        # its verdict: published right after it, so the one received closest in time
        _, verdict = verdicts[int(np.argmin(np.abs(verdict_times - received)))]
        assert verdict.data == (published.data >= 0.5)


def test_a_missing_classifier_is_one_clear_error(ros_env, tmp_path) -> None:
    node = [str(BIN / "reward_classifier_node"), "--ros-args", "-p", f"classifier:={tmp_path / 'none'}"]
    out = subprocess.run(node, env=ros_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "is not a reward classifier" in out.stderr and "Traceback" not in out.stderr


class SlowClassifier:
    """Records the frames it judged (the test holds the node busy while frames arrive)."""

    def __init__(self, spec) -> None:
        self.spec, self.threshold, self.judged = spec, 0.5, []

    def probability(self, inputs) -> float:
        self.judged.append(int(inputs["images"]["front"][0, 0, 0]))
        return 0.0


@pytest.mark.ros
def test_a_slow_classifier_judges_the_newest_frame_not_a_backlog(ros_env) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from drivers import topics
    from drivers.ros_messages import image_msg
    from robot_rl.nodes.reward_classifier_node import RewardClassifierNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("slow_classifier", namespace="/robot", context=context)
    camera = rclpy.create_node("camera", namespace="/robot", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        classifier = SlowClassifier(InputSpec(cameras=("front",), image_size=8))
        RewardClassifierNode(node, classifier)
        publisher = camera.create_publisher(Image, topics.camera_topic("front"), 10)
        deadline = time.monotonic() + 10
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        for frame in range(1, 6):  # five frames arrive while the classifier is busy
            rgb = np.full((8, 8, 3), frame, np.uint8)
            publisher.publish(image_msg(rgb, camera.get_clock().now().to_msg(), "front"))
        time.sleep(1.0)
        for _ in range(5):
            executor.spin_once(timeout_sec=0.2)
    finally:
        executor.shutdown()
        camera.destroy_node()
        node.destroy_node()
        context.try_shutdown()
    assert classifier.judged == [5]

"""Learned rewards: classifiers that tell task success from camera frames (docs/rewards.md).

- ``dataset.py`` / ``dataset_writer.py``: labelled frames on disk (HDF5), the reader and the writer
- ``preprocess.py``: the one frame -> tensor step, shared by training and run time
- ``model.py``: per-camera DrQ CNNs + optional proprioception -> a success logit
- ``sampling.py``: split by episode group, balanced batches
- ``threshold.py``: precision-recall curve, the threshold for a target precision
- ``train.py``: the training loop;  ``report.py``: PR curve PNG, false-positive dump
- ``classifier.py``: ``RewardClassifier.load(folder)`` with ``probability(obs)`` and ``success(obs)``

No ROS or simulator import here: the classifier runs on any env of the one interface.
"""

from robot_rl.rewards.classifier import RewardClassifier
from robot_rl.rewards.dataset import FrameDataset, read_frames
from robot_rl.rewards.dataset_writer import FrameWriter

__all__ = ["FrameDataset", "FrameWriter", "RewardClassifier", "read_frames"]

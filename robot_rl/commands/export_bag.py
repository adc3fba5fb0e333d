"""Writes every episode of an HDF5 file (robomimic layout) to a rosbag2 MCAP for ROS tools (ros2 bag
play/info, Foxglove, rqt_bag), standard messages only: the robot's topics (tcp_pose, tcp_twist, wrench,
joint_states, cameras/<cam>/image) under `namespace`, plus episode/obs (other observation keys),
episode/action, episode/step (reward, terminated, truncated, is_intervention) and episode/marker (JSON:
episode index, seed, success). Step t is stamped start + t / control_hz. docs/data.md has the mapping.

  robot-rl export-bag file=data/demos_pick_cube.hdf5
  robot-rl export-bag file=data/demos_pick_cube.hdf5 bag=bags/demos storage=sqlite3 overwrite=true

`robot-rl import-bag bag=<folder>` reads such a bag back into an identical episode file.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from robot_rl.config import ConfigError
from robot_rl.data.rosbag import export_bag


def run(cfg: DictConfig) -> int:
    if cfg.file is None:
        raise ConfigError("pass file=<episodes.hdf5>, the episode file to export")
    file = Path(str(cfg.file))
    bag = Path(str(cfg.bag)) if cfg.bag is not None else file.with_name(f"{file.stem}_bag")
    count = export_bag(
        file,
        bag,
        str(cfg.namespace),
        storage=str(cfg.storage),
        start_ns=None if cfg.start_ns is None else int(cfg.start_ns),
        overwrite=bool(cfg.overwrite),
    )
    print(f"wrote {count} episodes to {bag} (ros2 bag info {bag})")
    return 0

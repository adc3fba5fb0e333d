"""Reads a rosbag2 (MCAP or sqlite3) into episodes in an HDF5 file (robomimic layout), for train-bc or
as demos for train.

- A bag written by `robot-rl export-bag` comes back exactly (observations, actions, rewards, flags,
  episode attributes, env_args).
- A recording of the robot's topics becomes demos: tcp_pose and cmd/twist are needed; joint_states,
  tcp_twist, wrench, cameras/<cam>/image, task_state, cmd/gripper and teleop/intervening are used when
  present. It is resampled to control_hz on tcp_pose's stamps, actions are cmd/twist divided by
  action_scale * control_hz (set both to the task that ran, e.g. task=peg_insert) plus the gripper
  command; a gap in tcp_pose longer than split_gap_s starts a new episode. Limits (clocks, held
  commands, rewards): robot_rl/data/rosbag_recorded.py.

  ros2 bag record -s mcap -o demo1 /robot/tcp_pose /robot/joint_states /robot/cmd/twist /robot/cmd/gripper
  robot-rl import-bag bag=demo1 out=data/teleop.hdf5 task=pick_cube
  robot-rl import-bag bag=bags/demos out=data/demos_again.hdf5 if_exists=overwrite
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from robot_rl.config import ConfigError
from robot_rl.data.rosbag import import_bag
from robot_rl.data.rosbag_recorded import RecordingOptions
from robot_rl.data.writer import writer_mode


def run(cfg: DictConfig) -> int:
    if cfg.bag is None:
        raise ConfigError("pass bag=<rosbag2 folder or .mcap file>, the bag to import")
    bag = Path(str(cfg.bag))
    out = Path(str(cfg.out)) if cfg.out is not None else bag.with_name(f"{bag.stem}.hdf5")
    mode = writer_mode(out, cfg.if_exists)
    try:
        recording = RecordingOptions(
            control_hz=float(cfg.control_hz),
            action_scale=tuple(float(x) for x in cfg.action_scale),
            gripper_joint=str(cfg.gripper_joint),
            gripper_open_m=float(cfg.gripper_open_m),
            arm_joints=None if cfg.arm_joints is None else tuple(str(j) for j in cfg.arm_joints),
            split_gap_s=None if cfg.split_gap_s is None else float(cfg.split_gap_s),
            env_meta={"env_id": str(cfg.task.env_id), "task": str(cfg.task.name)},
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None
    names = import_bag(bag, out, str(cfg.namespace), mode=mode, recording=recording)
    print(f"wrote {len(names)} episodes ({names[0]} ... {names[-1]}) to {out}")
    return 0

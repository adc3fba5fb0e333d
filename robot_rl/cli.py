"""``robot-rl``: the command-line entry point. Each command is a Hydra config plus a small module.

robot-rl view task=peg_insert episodes=2
robot-rl <command> --help        # what it does, and every setting with its default
"""

from __future__ import annotations

import importlib
import logging
import sys

from omegaconf import OmegaConf

from robot_rl.config import load_config
from robot_rl.data.layout import DatasetError
from robot_rl.errors import CheckpointError, ConfigError

#: command -> (module in robot_rl.commands with run(cfg), config name, one-line summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("train", "train", "train SAC/RLPD on a task in one process (curves, video, checkpoints)"),
    "eval": ("eval", "eval", "evaluate a checkpoint: success rate over seeded episodes and an MP4"),
    "export": (
        "export",
        "export",
        "export a checkpoint's policy (weights + observation/action spec) for deploy",
    ),
    "deploy": (
        "deploy",
        "deploy",
        "run a trained policy on sim, fake hardware or a real arm behind the shield; report and MP4",
    ),
    "keys": ("keys", "keys", "make CURVE key pairs that encrypt and authenticate actor/learner traffic"),
    "train-bc": ("train_bc", "train_bc", "behaviour cloning from HDF5 demos: a base policy for residual RL"),
    "view": ("view", "view", "watch the scripted expert on a task: a window, or an MP4 when headless"),
    "record-demos": (
        "record_demos",
        "record_demos",
        "teleoperate (keyboard, gamepad, SpaceMouse, ROS Joy) and record demonstrations to HDF5",
    ),
    "collect-demos": (
        "collect_demos",
        "collect_demos",
        "record scripted-expert demonstrations to HDF5 (robomimic layout)",
    ),
    "record-success-fail": (
        "record_success_fail",
        "record_success_fail",
        "record camera frames labelled success/failure (sim ground truth or device buttons) to HDF5",
    ),
    "train-classifier": (
        "train_classifier",
        "train_classifier",
        "train a success classifier on labelled frames; threshold for a target precision (a reward)",
    ),
    "export-bag": ("export_bag", "export_bag", "write HDF5 episodes to a rosbag2 MCAP for ROS tools"),
    "import-bag": ("import_bag", "import_bag", "read a rosbag2 (exported or recorded) into HDF5 episodes"),
    # Takes a launch file and name:=value launch arguments, not Hydra overrides (see main()).
    "launch": ("launch", "", "run a ROS 2 YAML launch file (launch/*.launch.yaml) as `ros2 launch` would"),
}

USAGE = """usage: robot-rl <command> [key=value ...] [--help]

Sample-efficient robot learning on simulated and real arms. Settings are Hydra overrides, e.g.
`robot-rl view task=peg_insert episodes=2`; `robot-rl <command> --help` lists every setting.

commands:
{commands}
"""


def _usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, (_, _, summary) in COMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"robot-rl: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    if command == "launch":
        return importlib.import_module("robot_rl.commands.launch").main(args)
    module_name, config_name, summary = COMMANDS[command]
    module = importlib.import_module(f"robot_rl.commands.{module_name}")
    # A command's plain setting may share its name with a config group (deploy's robot= vs configs/robot/):
    # ARG_ALIASES maps it to the key the command's config really has.
    for name, key in getattr(module, "ARG_ALIASES", {}).items():
        args = [f"{key}={a.split('=', 1)[1]}" if a.startswith(f"{name}=") else a for a in args]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if "-h" in args or "--help" in args:
            cfg = load_config(config_name, [a for a in args if a not in ("-h", "--help")])
            print(f"robot-rl {command}: {summary}\n\n{(module.__doc__ or '').strip()}\n")
            print(f"settings (configs/{config_name}.yaml; override with key=value):\n")
            print(OmegaConf.to_yaml(cfg))
            return 0
        return int(module.run(load_config(config_name, args)) or 0)
    except (ConfigError, DatasetError, CheckpointError, FileNotFoundError) as err:
        # Errors a user can cause end in one message naming the cause and the fix, not a traceback.
        print(f"robot-rl {command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robot-rl {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Runs a ROS 2 YAML launch file with the project's own launcher, the way `ros2 launch` runs it:

  robot-rl launch launch/<file>.launch.yaml [name:=value ...]
  robot-rl launch <package> <file>.launch.yaml [name:=value ...]   the file in <share>/launch of a package
  robot-rl launch FILE --show-args    (-s) the file's declared arguments with descriptions and defaults
  robot-rl launch FILE --print        (-p) every node's resolved command line; starts nothing

Each node's output lines are prefixed with its process name ([actor_node-1]); `output: screen` shows
stdout too (the default `log` shows stderr, where ROS logging goes, and keeps stdout in launch.log).
Ctrl-C stops every node: SIGINT, then SIGTERM and SIGKILL after their timeouts (a second Ctrl-C skips
ahead). The YAML subset and the differences from `ros2 launch` are in docs/launch.md.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TextIO

from robot_rl.launch import LaunchError, NodeLaunch, Runner, declared_args, resolve
from robot_rl.launch.substitutions import describe, package_path

log = logging.getLogger("robot_rl.launch")

USAGE = "usage: robot-rl launch [-h] [-s|--show-args] [-p|--print] (FILE | PACKAGE FILE) [name:=value ...]"


def main(argv: list[str]) -> int:
    """The `robot-rl launch` command line; returns the exit code."""
    _add_venv_to_ament_prefix_path()
    try:
        files, launch_args, flags = _split_args(argv)
        if "help" in flags:
            print(f"{USAGE}\n\n{(__doc__ or '').strip()}")
            if files:
                print()
                _print_args(_launch_file(files))
            return 0
        if not files:
            print(f"robot-rl launch: a launch file is required\n{USAGE}", file=sys.stderr)
            return 2
        _configure_logging()
        return run(
            _launch_file(files), launch_args, show_args="show_args" in flags, print_only="print" in flags
        )
    except LaunchError as err:
        print(f"robot-rl launch: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the nodes start; afterwards the runner handles Ctrl-C
        print("robot-rl launch: interrupted", file=sys.stderr)
        return 130


def run(
    file: str | Path,
    launch_args: dict[str, str] | None = None,
    *,
    show_args: bool = False,
    print_only: bool = False,
) -> int:
    """Resolve ``file`` with ``launch_args`` and run its nodes until they exit (or print them)."""
    path = Path(file)
    if show_args:
        _print_args(path)
        return 0
    with tempfile.TemporaryDirectory(prefix="robot_rl_launch_") as params_dir:
        nodes = resolve(path, launch_args or {}, Path(params_dir))
        if print_only:
            _print_nodes(nodes)
            return 0
        if not nodes:
            log.warning("%s starts no nodes (with these arguments)", path)
            return 0
        log_dir = _log_dir()
        log.info("All log files can be found below %s", log_dir)
        with open(log_dir / "launch.log", "a", buffering=1) as log_file:
            handler = logging.StreamHandler(log_file)
            handler.setFormatter(logging.Formatter("%(created).4f [%(levelname)s] [launch]: %(message)s"))
            logging.getLogger().addHandler(handler)
            try:
                return Runner(nodes, log_file=log_file).run()
            finally:
                logging.getLogger().removeHandler(handler)


def _split_args(argv: list[str]) -> tuple[list[str], dict[str, str], set[str]]:
    files: list[str] = []
    launch_args: dict[str, str] = {}
    flags: set[str] = set()
    options = {"-h": "help", "--help": "help", "-s": "show_args", "--show-args": "show_args"}
    options.update({"-p": "print", "--print": "print"})
    for item in argv:
        if item in options:
            flags.add(options[item])
        elif item.startswith("-"):
            raise LaunchError(f"unknown option {item!r}\n{USAGE}")
        elif ":=" in item:
            name, value = item.split(":=", 1)
            if not name:
                raise LaunchError(f"malformed launch argument '{item}', expected format '<name>:=<value>'")
            launch_args[name] = value
        elif launch_args or len(files) == 2 or (files and Path(files[0]).is_file()):
            raise LaunchError(f"malformed launch argument '{item}', expected format '<name>:=<value>'")
        else:
            files.append(item)
    return files, launch_args, flags


def _launch_file(files: list[str]) -> Path:
    if len(files) == 1:
        return Path(files[0])
    package, name = files
    share = Path(package_path(package, share=True))
    for candidate in (share / "launch" / name, share / name):
        if candidate.is_file():
            return candidate
    raise LaunchError(f"file '{name}' was not found in the share directory of package '{package}' ({share})")


def _print_args(path: Path) -> None:
    args = declared_args(path)
    print("Arguments (pass arguments as '<name>:=<value>'):")
    if not args:
        print("\n  No arguments.")
    for arg, conditional in args:
        print(f"\n    '{arg.name}':" + ("  (conditionally included)" if conditional else ""))
        for line in (arg.description or "no description given").splitlines():
            print(f"        {line}")
        if arg.choices is not None:
            print(f"        Valid choices are: {arg.choices}")
        if arg.default is not None:
            print(f"        (default: '{describe(arg.default)}')")


def _print_nodes(nodes: list[NodeLaunch], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for node in nodes:
        traits = [f"output={node.output}"]
        if node.respawn:
            traits.append(f"respawn (delay {node.respawn_delay_s} s, max retries {node.respawn_max_retries})")
        if node.required:
            traits.append("required (on_exit: shutdown)")
        out.write(f"[{node.label}] {node.source}\n  {shlex.join(node.cmd)}\n  {', '.join(traits)}\n")
        for key, value in node.env.items():
            out.write(f"  env {key}={value}\n")
        for params_file in node.params_files:
            text = Path(params_file).read_text().rstrip().replace("\n", "\n    ")
            out.write(f"  --params-file {params_file}:\n    {text}\n")


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [launch]: %(message)s", stream=sys.stderr)


def _log_dir() -> Path:
    """``ros2 launch``'s log folder: $ROS_LOG_DIR or $ROS_HOME/log (~/.ros/log), one folder per run."""
    root = os.environ.get("ROS_LOG_DIR") or os.path.join(
        os.environ.get("ROS_HOME") or os.path.expanduser("~/.ros"), "log"
    )
    stamp = datetime.now().strftime("%Y-%m-%d-%H-%M-%S-%f")
    path = Path(root) / f"{stamp}-{socket.gethostname()}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _add_venv_to_ament_prefix_path() -> None:
    # The Makefile puts .venv (an ament prefix with share/robot_rl) on AMENT_PREFIX_PATH; do the same
    # when .venv/bin/robot-rl runs outside make, so $(find-pkg-share robot_rl) works. Nodes inherit it.
    index = Path(sys.prefix) / "share/ament_index/resource_index/packages"
    current = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if index.is_dir() and sys.prefix not in current:
        os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join([*current, sys.prefix])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A ``node`` action evaluated into the process to start: its command line built as launch_ros builds it.

``[*launch-prefix, <executable>, *args, (--ros-args *ros_args), --ros-args, -r __node:=NAME,
-r __ns:=/NS, --params-file FILE ..., -r FROM:=TO ...]`` — ``--ros-args`` always, ``__node`` only when a
name is given, ``__ns`` when the node or an enclosing ``push_ros_namespace`` gives a namespace, one
``--params-file`` per ``param`` entry in order, then the remappings.

The executable of ``pkg``/``exec`` is ``<prefix>/lib/<pkg>/<exec>`` (colcon's ament_python layout, what
``ros2 launch`` requires); when the package is found but that file is not (a pip/editable install, whose
console scripts live in the venv's ``bin/``), the venv's scripts folder and then ``PATH`` are searched.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import sysconfig
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from robot_rl.launch.errors import LaunchError
from robot_rl.launch.params import ParamFile, evaluate_file, evaluate_tree, node_params_key, write_params_file
from robot_rl.launch.parser import OUTPUTS, NodeAction
from robot_rl.launch.substitutions import Context, condition_true, evaluate, package_path

log = logging.getLogger(__name__)

DEFAULT_SIGTERM_TIMEOUT_S = 5.0  # launch's ExecuteLocal defaults (launch configurations of the same name)
DEFAULT_SIGKILL_TIMEOUT_S = 5.0
_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMESPACE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class NodeLaunch:
    """One process to start, fully resolved; ``label`` prefixes its output lines (``talker-1``)."""

    label: str
    cmd: list[str]
    executable: str
    package: str | None = None
    name: str | None = None
    namespace: str | None = None
    remaps: list[tuple[str, str]] = field(default_factory=list)
    params_files: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    output: str = "log"
    respawn: bool = False
    respawn_delay_s: float = 0.0
    respawn_max_retries: int = -1
    required: bool = False
    sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S
    sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S
    shell: bool = False
    source: str = ""


def prefix_namespace(base: str | None, ns: str | None) -> str | None:
    """launch_ros's ``prefix_namespace``: a relative ``ns`` goes under ``base``; trailing '/' dropped."""
    if base is None and ns is None:
        return None
    if ns is None:
        combined = base
    elif not base or ns.startswith("/"):
        combined = ns
    else:
        combined = ("" if base == "/" else base) + "/" + ns
    assert combined is not None
    return combined if combined == "/" else combined.rstrip("/")


def make_absolute(ns: str | None) -> str | None:
    return ns if ns is None or ns.startswith("/") else "/" + ns


def validate_node_name(name: str, where: str) -> None:
    if not _NODE_NAME.fullmatch(name) or len(name) > 255:
        raise LaunchError(
            f"{where}: invalid node name {name!r}: use letters, digits and '_', not starting with a digit"
        )


def validate_namespace(ns: str, where: str) -> None:
    tokens = ns.split("/")[1:]
    ok = ns.startswith("/") and (ns == "/" or all(_NAMESPACE_TOKEN.fullmatch(t) for t in tokens))
    if not ok or len(ns) > 245:
        raise LaunchError(
            f"{where}: invalid namespace {ns!r}: '/'-separated names of letters, digits and '_' "
            "(not starting with a digit), absolute, no '//' and no trailing '/'"
        )


def find_executable(package: str, executable: str, where: str) -> str:
    prefix = package_path(package, share=False)
    libexec = Path(prefix) / "lib" / package
    candidates = [libexec / executable, Path(sysconfig.get_path("scripts")) / executable]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which(executable)
    if on_path:
        return on_path
    raise LaunchError(
        f"{where}: executable '{executable}' not found on the libexec directory '{libexec}', "
        f"nor in '{candidates[1].parent}' or on PATH; install the package (make venv / colcon build)"
    )


def resolve_node(action: NodeAction, ctx: Context, params_dir: Path, labels: Counter[str]) -> NodeLaunch:
    """Evaluate a node action in the current launch context into a NodeLaunch."""
    where = action.where
    name = None if action.name is None else evaluate(action.name, ctx)
    if name is not None:
        validate_node_name(name, where)
    local_ns = None if action.namespace is None else evaluate(action.namespace, ctx)
    namespace = make_absolute(prefix_namespace(ctx.configs.get("ros_namespace"), local_ns))
    if namespace is not None:
        validate_namespace(namespace, where)
    executable = evaluate(action.executable, ctx)
    package = None if action.package is None else evaluate(action.package, ctx)
    path = find_executable(package, executable, where) if package is not None else executable

    cmd = [path, *(evaluate(a, ctx) for a in action.arguments)]
    if action.ros_arguments is not None:
        cmd += ["--ros-args", *(evaluate(a, ctx) for a in action.ros_arguments)]
    cmd.append("--ros-args")
    if name is not None:
        cmd += ["-r", f"__node:={name}"]
    if namespace is not None:
        cmd += ["-r", f"__ns:={namespace}"]
    params_files = []
    for param in action.params:
        if isinstance(param, ParamFile):
            params_files.append(evaluate_file(param, ctx, where, params_dir))
        else:
            values = evaluate_tree(param, ctx, where)
            params_files.append(write_params_file(values, node_params_key(name, namespace), params_dir))
        cmd += ["--params-file", params_files[-1]]
    remaps = [(evaluate(a, ctx), evaluate(b, ctx)) for a, b in action.remaps]
    for source, target in remaps:
        cmd += ["-r", f"{source}:={target}"]
    prefix = (
        evaluate(action.launch_prefix, ctx) if action.launch_prefix else ctx.configs.get("launch-prefix", "")
    )
    cmd = [*shlex.split(prefix), *cmd]

    base = evaluate(action.exec_name, ctx) if action.exec_name is not None else os.path.basename(path)
    labels[base] += 1
    return NodeLaunch(
        label=f"{base}-{labels[base]}",
        cmd=cmd,
        executable=executable,
        package=package,
        name=name,
        namespace=namespace,
        remaps=remaps,
        params_files=params_files,
        env={evaluate(k, ctx): evaluate(v, ctx) for k, v in action.env},
        cwd=None if action.cwd is None else evaluate(action.cwd, ctx),
        output=_output(action, ctx),
        respawn=action.respawn is not None
        and condition_true(evaluate(action.respawn, ctx), f"{where}: respawn"),
        respawn_delay_s=action.respawn_delay_s or 0.0,
        respawn_max_retries=action.respawn_max_retries,
        required=action.required,
        sigterm_timeout_s=_timeout(
            action.sigterm_timeout_s, ctx, "sigterm_timeout", DEFAULT_SIGTERM_TIMEOUT_S
        ),
        sigkill_timeout_s=_timeout(
            action.sigkill_timeout_s, ctx, "sigkill_timeout", DEFAULT_SIGKILL_TIMEOUT_S
        ),
        shell=action.shell,
        source=where,
    )


def _output(action: NodeAction, ctx: Context) -> str:
    tty = action.emulate_tty if isinstance(action.emulate_tty, bool) else evaluate(action.emulate_tty, ctx)
    if tty is True or (isinstance(tty, str) and condition_true(tty, f"{action.where}: emulate_tty")):
        log.warning("%s: emulate_tty is not supported by robot-rl launch; output stays a pipe", action.where)
    output = os.environ.get("OVERRIDE_LAUNCH_PROCESS_OUTPUT") or (
        evaluate(action.output, ctx) if action.output is not None else "log"
    )
    if output not in OUTPUTS:
        raise LaunchError(f"{action.where}: output is '{output}', expected one of {list(OUTPUTS)}")
    return output


def _timeout(value: float | None, ctx: Context, config: str, default: float) -> float:
    if value is not None:
        return value
    text = ctx.configs.get(config)
    try:
        return default if text is None else float(text)
    except ValueError:
        raise LaunchError(f"launch configuration {config}={text!r} is not a number of seconds") from None

"""Parse a YAML launch file into actions, checking every key the way ros2 launch's frontend does.

Parsing is static, as in ``launch``: the whole file is read and validated before anything runs, so an
unknown key inside an ``if: false`` group is still an error. Included files are parsed when the
include runs (their path may depend on launch arguments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robot_rl.launch.entity import Entity
from robot_rl.launch.errors import LaunchError
from robot_rl.launch.params import ParamFile, ParamTree, parse_params
from robot_rl.launch.substitutions import Template, parse_template, split_cmdline

SUPPORTED = ("arg", "let", "include", "group", "node", "push_ros_namespace", "push-ros-namespace")
#: entities ros2 launch knows that this launcher does not run (an error, never silently skipped)
KNOWN_UNSUPPORTED = (
    "executable", "set_env", "unset_env", "append_env", "set_parameter", "set_parameters_from_file",
    "set_remap", "set_use_sim_time", "timer", "log", "for", "lifecycle_node", "node_container",
    "composable_node_container", "load_composable_node", "ros_timer", "set_ros_log_dir", "shutdown",
)  # fmt: skip
OUTPUTS = ("screen", "log", "both", "own_log", "full")


@dataclass(kw_only=True)
class Action:
    where: str  # "file (path)" for error messages
    condition: tuple[str, Template] | None = None  # ("if" | "unless", expression)


@dataclass(kw_only=True)
class ArgAction(Action):
    name: str
    default: Template | None = None
    description: str | None = None
    choices: list[str] | None = None


@dataclass(kw_only=True)
class LetAction(Action):
    name: Template
    value: Template


@dataclass(kw_only=True)
class IncludeAction(Action):
    file: Template
    args: list[tuple[Template, Template]] = field(default_factory=list)


@dataclass(kw_only=True)
class GroupAction(Action):
    actions: list[Action]
    scoped: bool | Template = True
    forwarding: bool | Template = True
    keep: list[tuple[Template, Template]] = field(default_factory=list)


@dataclass(kw_only=True)
class PushNamespaceAction(Action):
    namespace: Template


@dataclass(kw_only=True)
class NodeAction(Action):
    executable: Template
    package: Template | None = None
    name: Template | None = None
    namespace: Template | None = None
    exec_name: Template | None = None
    arguments: list[Template] = field(default_factory=list)
    ros_arguments: list[Template] | None = None
    params: list[ParamFile | ParamTree] = field(default_factory=list)
    remaps: list[tuple[Template, Template]] = field(default_factory=list)
    env: list[tuple[Template, Template]] = field(default_factory=list)
    cwd: Template | None = None
    output: Template | None = None
    launch_prefix: Template | None = None
    respawn: Template | None = None
    respawn_delay_s: float | None = None
    respawn_max_retries: int = -1
    required: bool = False  # on_exit: shutdown
    sigterm_timeout_s: float | None = None
    sigkill_timeout_s: float | None = None
    shell: bool = False
    emulate_tty: bool | Template = False


def load_file(path: Path) -> list[Action]:
    """Read and validate a ``.launch.yaml`` file; the actions of its ``launch:`` list."""
    if not path.is_file():
        raise LaunchError(f"launch file '{path}' not found")
    if not path.name.endswith((".yaml", ".yml")):
        raise LaunchError(f"{path}: robot-rl launch reads YAML launch files (*.launch.yaml) only")
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise LaunchError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(tree, dict) or len(tree) != 1:
        raise LaunchError(f"{path}: Expected only one root, the `launch:` list")
    if "launch" not in tree:
        raise LaunchError(f"{path}: Expected 'launch' as root tag, got {next(iter(tree))!r}")
    root = Entity(tree["launch"], "launch", path, "launch")
    return [parse_action(child) for child in root.children]


def parse_action(entity: Entity) -> Action:
    kind = entity.type_name
    parse = _PARSERS.get(kind)
    if parse is None:
        supported = ", ".join(SUPPORTED)
        if kind in KNOWN_UNSUPPORTED:
            raise entity.error(
                f"`{kind}` is a ros2 launch entity that robot-rl launch does not run; use {supported}"
            )
        raise entity.error(f"Unrecognized entity of the type: {kind} (supported: {supported})")
    where = f"{entity.file} ({entity.path})"
    try:
        action = parse(entity, where, _condition(entity))
    except LaunchError as err:  # a $(...) syntax error knows no file
        if not str(err).startswith(str(entity.file)):
            raise LaunchError(f"{where}: {err}") from None
        raise
    entity.assert_completely_parsed()  # launch's expose_action wrapper does this after every parse
    return action


def _condition(entity: Entity) -> tuple[str, Template] | None:
    if_expr, unless_expr = entity.get("if", optional=True), entity.get("unless", optional=True)
    if if_expr is not None and unless_expr is not None:
        raise entity.error("if and unless conditions can't be used simultaneously")
    if if_expr is not None:
        return ("if", parse_template(if_expr))
    return ("unless", parse_template(unless_expr)) if unless_expr is not None else None


def _pairs(entity: Entity, name: str, first: str, second: str) -> list[tuple[Template, Template]]:
    items = entity.get(name, "entities", optional=True) or []
    pairs = [(parse_template(e.get(first)), parse_template(e.get(second))) for e in items]
    for e in items:
        e.assert_completely_parsed()
    return pairs


def _optional(entity: Entity, name: str) -> Template | None:
    value = entity.get(name, optional=True)
    return None if value is None else parse_template(value)


def _parse_arg(entity: Entity, where: str, condition: Any) -> ArgAction:
    choices = entity.get("choice", "entities", optional=True)
    action = ArgAction(
        where=where,
        condition=condition,
        name=_unescape(entity.get("name")),
        default=_optional(entity, "default"),
        description=_unescape(entity.get("description", optional=True)),
        choices=None if choices is None else [_unescape(c.get("value")) for c in choices],
    )
    for c in choices or []:
        c.assert_completely_parsed()
    return action


def _unescape(text: str | None) -> str | None:
    """launch's ``escape_characters``: ``\\x`` becomes ``x`` (names and descriptions: no substitutions)."""
    return None if text is None else re.sub(r"\\(.)", r"\1", text)


def _parse_let(entity: Entity, where: str, condition: Any) -> LetAction:
    name, value = parse_template(entity.get("name")), parse_template(entity.get("value"))
    return LetAction(where=where, condition=condition, name=name, value=value)


def _parse_include(entity: Entity, where: str, condition: Any) -> IncludeAction:
    file = parse_template(entity.get("file"))
    return IncludeAction(
        where=where, condition=condition, file=file, args=_pairs(entity, "arg", "name", "value")
    )


def _flag(value: bool | str | None, default: bool) -> bool | Template:
    if value is None:
        return default
    return value if isinstance(value, bool) else parse_template(value)


def _parse_group(entity: Entity, where: str, condition: Any) -> GroupAction:
    scoped = _flag(entity.get("scoped", "bool", optional=True), True)
    forwarding = _flag(entity.get("forwarding", "bool", optional=True), True)
    keep = _pairs(entity, "keep", "name", "value")
    actions = [parse_action(child) for child in entity.children if child.type_name != "keep"]
    return GroupAction(
        where=where, condition=condition, actions=actions, scoped=scoped, forwarding=forwarding, keep=keep
    )


def _parse_push_namespace(entity: Entity, where: str, condition: Any) -> PushNamespaceAction:
    namespace = parse_template(entity.get("namespace"))
    return PushNamespaceAction(where=where, condition=condition, namespace=namespace)


def _non_negative(entity: Entity, name: str) -> float | None:
    value = entity.get(name, "float", optional=True)
    if value is not None and value < 0.0:
        raise entity.error(
            f"Attribute {name} of Entity node expected to be a non-negative value but got `{value}`"
        )
    return value


def _parse_node(entity: Entity, where: str, condition: Any) -> NodeAction:
    # The attributes of launch's ExecuteProcess.parse (minus cmd) and launch_ros's Node.parse.
    args, ros_args = entity.get("args", optional=True), entity.get("ros_args", optional=True)
    on_exit = entity.get("on_exit", optional=True)
    if on_exit is not None and on_exit != "shutdown":
        raise entity.error(
            f"Attribute on_exit of Entity node expected to be shutdown but got `{on_exit}`. "
            "Other on_exit actions not yet supported"
        )
    params = entity.get("param", "entities", optional=True)
    max_retries = entity.get("respawn_max_retries", "int", optional=True)
    node = NodeAction(
        where=where,
        condition=condition,
        executable=parse_template(entity.get("exec")),
        package=_optional(entity, "pkg"),
        name=_optional(entity, "name"),
        namespace=_optional(entity, "namespace"),
        exec_name=_optional(entity, "exec_name"),
        arguments=split_cmdline(args) if args is not None else [],
        ros_arguments=split_cmdline(ros_args) if ros_args is not None else None,
        params=parse_params(params) if params is not None else [],
        remaps=_pairs(entity, "remap", "from", "to"),
        env=_pairs(entity, "env", "name", "value"),
        cwd=_optional(entity, "cwd"),
        output=_optional(entity, "output"),
        launch_prefix=_optional(entity, "launch-prefix"),
        respawn=_optional(entity, "respawn"),
        respawn_delay_s=_non_negative(entity, "respawn_delay"),
        respawn_max_retries=-1 if max_retries is None else int(max_retries),
        required=on_exit == "shutdown",
        sigterm_timeout_s=_non_negative(entity, "sigterm_timeout"),
        sigkill_timeout_s=_non_negative(entity, "sigkill_timeout"),
        shell=_bool(entity, "shell"),
        emulate_tty=_flag(entity.get("emulate_tty", "bool", optional=True), False),
    )
    return node


def _bool(entity: Entity, name: str) -> bool:
    value = entity.get(name, "bool", optional=True)
    if isinstance(value, str):
        if value.lower() not in ("true", "false"):
            raise entity.error(
                f"Attribute '{name}' of Entity '{entity.type_name}' must be true or false, got {value!r}"
            )
        return value.lower() == "true"
    return bool(value)


_PARSERS = {
    "arg": _parse_arg,
    "let": _parse_let,
    "include": _parse_include,
    "group": _parse_group,
    "node": _parse_node,
    "push_ros_namespace": _parse_push_namespace,
    "push-ros-namespace": _parse_push_namespace,
}

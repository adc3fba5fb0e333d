"""Run the actions of a launch file against launch configurations: the flat list of nodes to start.

Scoping is launch's: a ``group`` (``scoped`` by default) works on a copy of the launch configurations,
so its ``let``, ``arg`` and ``push_ros_namespace`` end with it; an ``include`` is not scoped, its
``arg`` values and the included file's ``let``s stay set afterwards (wrap it in a group to contain
them, as with ``ros2 launch``). The pushed namespace is the ``ros_namespace`` launch configuration.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from robot_rl.launch.errors import LaunchError
from robot_rl.launch.node import NodeLaunch, make_absolute, prefix_namespace, resolve_node, validate_namespace
from robot_rl.launch.parser import (
    Action,
    ArgAction,
    GroupAction,
    IncludeAction,
    LetAction,
    NodeAction,
    PushNamespaceAction,
    load_file,
)
from robot_rl.launch.substitutions import Context, Template, condition_true, evaluate

MAX_INCLUDE_DEPTH = 32


def resolve(
    path: Path,
    launch_args: Mapping[str, str],
    params_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> list[NodeLaunch]:
    """Parse ``path`` and everything it includes; the nodes it starts with ``launch_args`` set.

    Inline parameters are written as ROS parameter files into ``params_dir``.
    """
    actions = load_file(path)
    ctx = Context(dict(launch_args), Path(os.path.abspath(path)), os.environ if environ is None else environ)
    resolver = _Resolver(params_dir)
    resolver.run(actions, ctx)
    return resolver.nodes


def declared_args(path: Path) -> list[tuple[ArgAction, bool]]:
    """The ``arg``s of a file (in groups too) and whether each one is conditionally included."""
    found: list[tuple[ArgAction, bool]] = []

    def walk(actions: list[Action], conditional: bool) -> None:
        for action in actions:
            inner = conditional or action.condition is not None
            if isinstance(action, ArgAction):
                found.append((action, inner))
            elif isinstance(action, GroupAction):
                walk(action.actions, inner)

    walk(load_file(path), False)
    return found


class _Resolver:
    def __init__(self, params_dir: Path) -> None:
        self.params_dir = params_dir
        self.nodes: list[NodeLaunch] = []
        self.labels: Counter[str] = Counter()
        self.depth = 0

    def run(self, actions: list[Action], ctx: Context) -> None:
        for action in actions:
            try:
                self._run_one(action, ctx)
            except LaunchError as err:
                # Substitution errors know no file: name the action (errors from an included file
                # get the include that led there in front of theirs).
                if not str(err).startswith(action.where.rsplit(" (", 1)[0]):
                    raise LaunchError(f"{action.where}: {err}") from None
                raise

    def _run_one(self, action: Action, ctx: Context) -> None:
        if not self._enabled(action, ctx):
            return
        if isinstance(action, ArgAction):
            self._arg(action, ctx)
        elif isinstance(action, LetAction):
            ctx.configs[evaluate(action.name, ctx)] = evaluate(action.value, ctx)
        elif isinstance(action, PushNamespaceAction):
            self._push_namespace(action, ctx)
        elif isinstance(action, GroupAction):
            self._group(action, ctx)
        elif isinstance(action, IncludeAction):
            self._include(action, ctx)
        elif isinstance(action, NodeAction):
            self.nodes.append(resolve_node(action, ctx, self.params_dir, self.labels))
        else:  # pragma: no cover - parser.py only builds the types above
            raise TypeError(f"unknown action {action!r}")

    @staticmethod
    def _enabled(action: Action, ctx: Context) -> bool:
        if action.condition is None:
            return True
        kind, expression = action.condition
        value = condition_true(evaluate(expression, ctx), f"{action.where}: {kind}")
        return value if kind == "if" else not value

    @staticmethod
    def _arg(action: ArgAction, ctx: Context) -> None:
        if action.name not in ctx.configs:
            if action.default is None:
                about = f" ({action.description})" if action.description else ""
                raise LaunchError(
                    f'{action.where}: Required launch argument "{action.name}"{about} was not provided; '
                    f"pass it as {action.name}:=<value>"
                )
            ctx.configs[action.name] = evaluate(action.default, ctx)
        value = ctx.configs[action.name]
        if action.choices is not None and value not in action.choices:
            raise LaunchError(
                f'{action.where}: Argument "{action.name}" provided value "{value}" is not valid. '
                f"Valid options are: {action.choices}"
            )

    @staticmethod
    def _push_namespace(action: PushNamespaceAction, ctx: Context) -> None:
        pushed = evaluate(action.namespace, ctx)
        previous = ctx.configs.get("ros_namespace")
        namespace = make_absolute(prefix_namespace(previous, pushed))
        assert namespace is not None
        validate_namespace(namespace, f"{action.where} (previous namespace {previous!r}, pushed {pushed!r})")
        ctx.configs["ros_namespace"] = namespace

    def _group(self, action: GroupAction, ctx: Context) -> None:
        scoped = _flag(action.scoped, ctx, f"{action.where}: scoped")
        forwarding = _flag(action.forwarding, ctx, f"{action.where}: forwarding")
        keep = {evaluate(k, ctx): evaluate(v, ctx) for k, v in action.keep}
        if not scoped:
            ctx.configs.update(keep)
            self.run(action.actions, ctx)
            return
        configs = {**ctx.configs, **keep} if forwarding else keep
        self.run(action.actions, Context(configs, ctx.file, ctx.environ))

    def _include(self, action: IncludeAction, ctx: Context) -> None:
        path = Path(os.path.abspath(evaluate(action.file, ctx)))  # relative to the working directory
        if not path.is_file():
            raise LaunchError(f"{action.where}: included launch file '{path}' not found")
        if self.depth >= MAX_INCLUDE_DEPTH:
            raise LaunchError(
                f"{action.where}: includes nested deeper than {MAX_INCLUDE_DEPTH}; an include cycle?"
            )
        actions = load_file(path)
        given = [evaluate(name, ctx) for name, _ in action.args]
        for arg in actions:  # launch's best-effort check of the included file's unconditional args
            if (
                isinstance(arg, ArgAction)
                and arg.condition is None
                and arg.default is None
                and arg.name not in given
            ):
                raise LaunchError(
                    f"{action.where}: Included launch description missing required argument '{arg.name}' "
                    f"(description: '{arg.description or 'no description given'}'), "
                    f"given: [{', '.join(given)}]"
                )
        for name, value in action.args:
            ctx.configs[evaluate(name, ctx)] = evaluate(value, ctx)
        self.depth += 1
        try:
            self.run(actions, Context(ctx.configs, path, ctx.environ))
        finally:
            self.depth -= 1


def _flag(value: bool | Template, ctx: Context, what: str) -> bool:
    return value if isinstance(value, bool) else condition_true(evaluate(value, ctx), what)

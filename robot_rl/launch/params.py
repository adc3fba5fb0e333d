"""Node parameters of a YAML launch file: ``param`` entries parsed and evaluated as launch_ros does.

- ``{name, value}`` (optionally ``type``, or nested ``param`` lists, flattened to ``a.b.c``): each entry
  becomes one temporary ROS parameters file ``{<node or /**>: {ros__parameters: {...}}}`` passed with
  ``--params-file``, exactly like launch_ros's ``Node._create_params_file_from_dict``.
- ``{from: file}`` (optionally ``allow_substs``): the file is passed as it is, or after performing the
  substitutions in its text.

Value typing follows launch's ``type_utils``: a YAML scalar or list is passed with its YAML type (a plain
string stays a string); a value containing a substitution is evaluated and then read with YAML rules
(``$(var n)`` with ``n:=3`` gives the integer 3), unless ``type`` says otherwise.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from robot_rl.launch.entity import Entity
from robot_rl.launch.errors import LaunchError
from robot_rl.launch.substitutions import (
    Context,
    Template,
    condition_true,
    evaluate,
    parse_template,
    plain_text,
)

_SCALAR_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
TYPE_NAMES = (*_SCALAR_TYPES, *(f"list_of_{t}" for t in _SCALAR_TYPES))


@dataclass(frozen=True)
class Dynamic:
    """A parameter value (or list item) that contains substitutions."""

    template: Template


Raw = str | int | float | bool | Dynamic | list


@dataclass
class ParamValue:
    raw: Raw
    type_name: str | None  # None: YAML rules


@dataclass
class ParamTree:
    """One ``param`` entry with a name: (name, value or nested tree) pairs."""

    entries: list[tuple[Template, ParamValue | ParamTree]]


@dataclass
class ParamFile:
    path: Template
    allow_substs: bool | Template = False


def parse_params(entities: list[Entity]) -> list[ParamFile | ParamTree]:
    """launch_ros's ``Node.parse_nested_parameters`` for the node's ``param`` list."""
    params: list[ParamFile | ParamTree] = []
    for p in entities:
        source = p.get("from", optional=True)
        allow = p.get("allow_substs", "bool", optional=True)
        name = p.get("name", optional=True)
        if source is not None and name is not None:
            raise p.error("name and from attributes are mutually exclusive")
        if source is not None:
            p.assert_completely_parsed()
            substs = False if allow is None else allow if isinstance(allow, bool) else parse_template(allow)
            params.append(ParamFile(parse_template(source), substs))
        elif name is not None:
            if allow is not None:
                raise p.error("'allow_substs' can only be used together with 'from' attribute")
            params.append(_tree([p]))
        else:
            raise p.error("param Entity should have name or from attribute")
    return params


def _tree(entities: list[Entity]) -> ParamTree:
    entries: list[tuple[Template, ParamValue | ParamTree]] = []
    for p in entities:
        name = parse_template(p.get("name"))
        type_name = p.get("type", optional=True)
        if type_name is not None and type_name not in TYPE_NAMES:
            raise p.error(f"Unrecognized type name {type_name!r}; expected one of {', '.join(TYPE_NAMES)}")
        value = p.get("value", "value", optional=True)
        nested = p.get("param", "entities", optional=True)
        p.assert_completely_parsed()
        if value is not None and nested:
            raise p.error("nested parameters and value attributes are mutually exclusive")
        if type_name is not None and nested:
            raise p.error("nested parameters and type attributes are mutually exclusive")
        if value is not None:
            if type_name is not None:
                _check_declared_type(p, value, type_name)
            entries.append((name, ParamValue(_normalize(p, value), type_name)))
        elif nested:
            entries.append((name, _tree(nested)))
        else:
            raise p.error("either a value attribute or nested params are needed")
    return ParamTree(entries)


def _check_declared_type(p: Entity, value: Any, type_name: str) -> None:
    is_list = type_name.startswith("list_of_")
    scalar = _SCALAR_TYPES[type_name.removeprefix("list_of_")]
    items = value if isinstance(value, list) else [value]
    if is_list != isinstance(value, list) or not all(isinstance(v, (str, scalar)) for v in items):
        raise p.error(
            f"Attribute 'value' of Entity 'param' expected to be of type '{type_name}', got {value!r}"
        )


def _normalize(p: Entity, value: Any) -> Raw:
    """launch's ``parse_if_substitutions``: strings with substitutions become Dynamic."""
    seen: set[type] = set()

    def one(v: Any) -> Any:
        if isinstance(v, str):
            template = parse_template(v)
            text = plain_text(template)
            if text is None:
                return Dynamic(template)
            seen.add(str)
            return text
        seen.add(type(v))
        return v

    out = [one(v) for v in value] if isinstance(value, list) else one(value)
    if len(seen) > 1:
        raise p.error(f"The result is a non-uniform list: {value!r}")
    return out


def evaluate_tree(tree: ParamTree, ctx: Context, where: str, prefix: str = "") -> dict[str, Any]:
    """Flattened ``{"a.b": value}`` of one named ``param`` entry."""
    out: dict[str, Any] = {}
    for name_template, item in tree.entries:
        name = prefix + evaluate(name_template, ctx)
        if isinstance(item, ParamTree):
            out.update(evaluate_tree(item, ctx, where, prefix=name + "."))
        else:
            out[name] = _typed(item, ctx, f"{where}: parameter '{name}'")
    return out


def _typed(value: ParamValue, ctx: Context, what: str) -> Any:
    type_name = value.type_name
    scalar_name = None if type_name is None else type_name.removeprefix("list_of_")
    raw = value.raw
    if isinstance(raw, Dynamic):
        return _coerce(evaluate(raw.template, ctx), type_name, what)
    if isinstance(raw, list):
        out = [
            _coerce(evaluate(v.template, ctx), scalar_name, what) if isinstance(v, Dynamic) else v
            for v in raw
        ]
        kinds = {type(v) for v in out}
        if len(kinds) > 1:
            raise LaunchError(f"{what}: the list is not uniform after substitution: {out!r}")
        return out
    if type_name is not None and not isinstance(raw, _SCALAR_TYPES[type_name]):
        raise LaunchError(f"{what}: value={raw!r} is not an instance of {type_name}")
    return raw


def _coerce(text: str, type_name: str | None, what: str) -> Any:
    """launch's ``coerce_to_type``: a substitution result read as ``type_name`` (None: YAML rules)."""
    if type_name == "str":
        return text
    if type_name in ("int", "float"):
        try:
            return _SCALAR_TYPES[type_name](text)
        except ValueError:
            raise LaunchError(f"{what}: cannot convert {text!r} to {type_name}") from None
    if type_name is None and not text:
        return text
    try:
        out = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise LaunchError(f"{what}: failed to convert {text!r} using yaml rules: {err}") from None
    if type_name is None:
        items = out if isinstance(out, list) else [out]
        if (
            not all(isinstance(v, tuple(_SCALAR_TYPES.values())) for v in items)
            or len({type(v) for v in items}) > 1
        ):
            raise LaunchError(
                f"{what}: {text!r} is not a scalar or a uniform list (got {type(out).__name__})"
            )
        return out
    scalar = _SCALAR_TYPES[type_name.removeprefix("list_of_")]
    if type_name.startswith("list_of_"):
        ok = isinstance(out, list) and all(isinstance(v, scalar) for v in out)
    else:
        ok = isinstance(out, scalar)
    if not ok:
        raise LaunchError(f"{what}: cannot convert {text!r} to {type_name}")
    return out


def node_params_key(name: str | None, namespace: str | None) -> str:
    """The node the inline parameters are for: its full name when fully specified, else ``/**``."""
    if name is None or namespace is None:
        return "/**"
    return f"{namespace.rstrip('/')}/{name}"


def write_params_file(values: dict[str, Any], node_key: str, directory: Path) -> str:
    with tempfile.NamedTemporaryFile(
        "w", prefix="launch_params_", suffix=".yaml", dir=directory, delete=False
    ) as f:
        yaml.safe_dump({node_key: {"ros__parameters": values}}, f, default_flow_style=False)
        return f.name


def evaluate_file(param: ParamFile, ctx: Context, where: str, directory: Path) -> str:
    """The path passed with ``--params-file``; with ``allow_substs`` a substituted copy."""
    path = os.path.abspath(evaluate(param.path, ctx))
    if not os.path.isfile(path):
        raise LaunchError(f"{where}: parameter file '{path}' (param from:) not found")
    allow = param.allow_substs
    if not isinstance(allow, bool):
        allow = condition_true(evaluate(allow, ctx), f"{where}: allow_substs")
    if not allow:
        return path
    text = evaluate(parse_template(Path(path).read_text()), ctx)
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        raise LaunchError(
            f"{where}: the substituted parameter file '{path}' is not a valid yaml file"
        ) from None
    with tempfile.NamedTemporaryFile(
        "w", prefix="launch_params_", suffix=".yaml", dir=directory, delete=False
    ) as f:
        f.write(text)
        return f.name

"""``$(...)`` substitutions of the ROS 2 launch frontend: parsing a string into a template, evaluating it.

The syntax follows launch's ``frontend/grammar.lark``: ``$(name arg arg ...)`` with arguments separated
by a space, each argument a run of text and nested substitutions or a quoted template (``'...'`` or
``"..."``), and ``\\x`` escaping any character (the backslash is dropped, as ``replace_escaped_characters``
does). A ``$`` not followed by ``(`` is plain text.

Supported substitutions: ``var`` (with an optional default), ``env`` and ``optenv`` (with an optional
default), ``find-pkg-share``, ``find-pkg-prefix``, ``dirname``, ``filename``, ``eval`` and the boolean
``not``/``and``/``or``/``equals``/``not-equals``.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from robot_rl.launch.errors import LaunchError


@dataclass(frozen=True)
class Sub:
    """One ``$(name args...)``; each argument is itself a template."""

    name: str
    args: tuple[Template, ...]


Template = tuple[str | Sub, ...]


@dataclass
class Context:
    """What substitutions read: launch configurations (scoped by groups), the current file, the env."""

    configs: dict[str, str]
    file: Path
    environ: Mapping[str, str]


def has_substitutions(template: Template) -> bool:
    return any(isinstance(part, Sub) for part in template)


def describe(template: Template) -> str:
    """The template written back as launch-file text (for --show-args)."""
    out = []
    for part in template:
        if isinstance(part, Sub):
            args = "".join(" " + describe(a) for a in part.args)
            out.append(f"$({part.name}{args})")
        else:
            out.append(part)
    return "".join(out)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0

    def error(self, msg: str) -> LaunchError:
        return LaunchError(f"invalid substitution syntax in {self.text!r} at column {self.i + 1}: {msg}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def template(self, stop: str = "") -> Template:
        """Text and substitutions up to (not including) an unescaped character of ``stop``."""
        parts: list[str | Sub] = []
        buf: list[str] = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == "\\" and self.i + 1 < len(self.text):
                buf.append(self.text[self.i + 1])
                self.i += 2
            elif c == "$" and self.peek(2) == "$(":
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(self.substitution())
            elif c in stop:
                break
            else:
                buf.append(c)
                self.i += 1
        if buf:
            parts.append("".join(buf))
        return tuple(parts)

    def substitution(self) -> Sub:
        self.i += 2  # "$("
        start = self.i
        while self.i < len(self.text) and (self.text[self.i].isalnum() or self.text[self.i] in "_-"):
            self.i += 1
        name = self.text[start : self.i]
        if not name or not name[0].isalpha():
            raise self.error("expected a substitution name after '$('")
        args: list[Template] = []
        while True:
            c = self.peek()
            if c == ")":
                self.i += 1
                return Sub(name, tuple(args))
            if c != " ":
                raise self.error(f"unterminated $({name} ...): expected ' ' or ')'")
            while self.peek() == " ":
                self.i += 1
            if self.peek() == ")":
                continue
            args.append(self.argument())

    def argument(self) -> Template:
        quote = self.peek()
        if quote in ("'", '"'):
            self.i += 1
            value = self.template(stop=quote)
            if self.peek() != quote:
                raise self.error(f"unterminated {quote}-quoted argument")
            self.i += 1
            return value
        value = self.template(stop=" ()'\"")
        if self.peek() in ("(", "'", '"'):
            raise self.error(f"unexpected {self.peek()!r} in an unquoted argument (escape it with \\)")
        return value


def parse_template(text: str) -> Template:
    """Parse launch-file text into a template; raises LaunchError on bad ``$(...)`` syntax."""
    reader = _Reader(text)
    template = reader.template()
    if reader.i != len(text):  # pragma: no cover - template() with no stop reads to the end
        raise reader.error("unexpected text")
    return template or ("",)


def plain_text(template: Template) -> str | None:
    """The text of a template without substitutions, else None."""
    return None if has_substitutions(template) else "".join(p for p in template if isinstance(p, str))


def condition_true(value: str, what: str) -> bool:
    """launch's ``evaluate_condition_expression``: true/1 and false/0, case-insensitive."""
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise LaunchError(f"{what}: invalid condition expression {value!r}; expected one of true, false, 1, 0")


def evaluate(template: Template, ctx: Context) -> str:
    """Perform every substitution of the template and concatenate."""
    return "".join(p if isinstance(p, str) else _perform(p, ctx) for p in template)


def _expect(sub: Sub, low: int, high: int) -> None:
    if not low <= len(sub.args) <= high:
        count = str(low) if low == high else f"{low} or {high}" if high == low + 1 else f"{low}-{high}"
        raise LaunchError(f"$({sub.name}) substitution expects {count} argument(s), got {len(sub.args)}")


def _perform(sub: Sub, ctx: Context) -> str:
    args = [evaluate(a, ctx) for a in sub.args]
    name = sub.name
    if name == "var":
        _expect(sub, 1, 2)
        if args[0] in ctx.configs:
            return ctx.configs[args[0]]
        if len(args) == 2:
            return args[1]
        raise LaunchError(
            f"launch configuration '{args[0]}' does not exist; declare it with an `arg` (or `let`) "
            f"or pass {args[0]}:=<value>"
        )
    if name in ("env", "optenv"):
        _expect(sub, 1, 2)
        if args[0] in ctx.environ:
            return ctx.environ[args[0]]
        if len(args) == 2 or name == "optenv":
            return args[1] if len(args) == 2 else ""
        raise LaunchError(
            f"environment variable '{args[0]}' does not exist; set it or give $(env NAME default)"
        )
    if name in ("find-pkg-share", "find-pkg-prefix"):
        _expect(sub, 1, 1)
        return package_path(args[0], share=name == "find-pkg-share")
    if name in ("dirname", "filename"):
        _expect(sub, 0, 0)
        return str(ctx.file.parent if name == "dirname" else ctx.file)
    if name == "eval":
        _expect(sub, 1, 1)
        return _python_expression(args[0])
    if name == "not":
        _expect(sub, 1, 1)
        return str(not condition_true(args[0], "$(not)")).lower()
    if name in ("and", "or"):
        _expect(sub, 2, 2)
        a, b = (condition_true(x, f"$({name})") for x in args)
        return str(a and b if name == "and" else a or b).lower()
    if name in ("equals", "not-equals"):
        _expect(sub, 2, 2)
        same = _comparable(args[0]) == _comparable(args[1])
        return str(same if name == "equals" else not same).lower()
    raise LaunchError(f"Unknown substitution: {name}")


def _comparable(value: str) -> object:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(value)
    except ValueError:
        return value


def _python_expression(expression: str) -> str:
    # launch's PythonExpression: eval with the math module's names in scope.
    namespace = dict(vars(math))
    namespace["math"] = math
    try:
        return str(eval(expression, {}, namespace))
    except Exception as err:  # any error of the user's expression, reported with the expression
        raise LaunchError(f"$(eval {expression!r}) failed: {type(err).__name__}: {err}") from None


def package_path(package: str, *, share: bool) -> str:
    """The share (or prefix) folder of an ament package, searched in AMENT_PREFIX_PATH."""
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_prefix,
            get_package_share_directory,
        )
    except ImportError as err:
        raise LaunchError(
            f"finding package '{package}' needs ament_index_python; install the ROS 2 wheels "
            "(requirements-ros.txt, `make venv`) or source a ROS 2 install"
        ) from err
    try:
        return get_package_share_directory(package) if share else get_package_prefix(package)
    except ValueError as err:  # not a valid package name (REP 127)
        raise LaunchError(str(err)) from None
    except PackageNotFoundError:
        searched = os.environ.get("AMENT_PREFIX_PATH", "")
        raise LaunchError(
            f"package '{package}' not found, searching: [{searched}]; set AMENT_PREFIX_PATH (the Makefile "
            "sets it to .venv) or source the workspace that installs it"
        ) from None


def split_cmdline(text: str) -> list[Template]:
    """launch's ``ExecuteProcess._parse_cmdline``: shlex-split the text, never the substitution results.

    ``$(find-pkg-share x)/a b`` is two arguments, the first one ``<share>/a``.
    """
    result: list[Template] = []
    arg: list[str | Sub] = []

    def close() -> None:
        nonlocal arg
        if arg:
            result.append(tuple(arg))
        arg = []

    for part in parse_template(text):
        if isinstance(part, Sub):
            arg.append(part)
            continue
        try:
            tokens = shlex.split(part)
        except ValueError as err:
            raise LaunchError(f"cannot split the command line {text!r}: {err}") from None
        if not tokens:  # only spaces: they separate the substitutions around them
            close()
            continue
        if part[0].isspace():
            close()
        arg.append(tokens[0])
        if len(tokens) > 1:
            close()
            result.extend((t,) for t in tokens[1:-1])
            arg.append(tokens[-1])
        if part[-1].isspace():
            close()
    close()
    return result

"""One entity of a YAML launch file, read the way launch_yaml's ``Entity`` reads it.

Every attribute access is recorded, and :meth:`Entity.assert_completely_parsed` rejects the keys
nothing read with ros2 launch's own wording (``Unexpected key(s) found in `node`: {'foo'}``), so a
file this launcher accepts is also accepted by ``ros2 launch``. Types are checked as launch_yaml
checks them (no coercion): a ``str`` attribute must be a YAML string, so ``default: 5`` is rejected
there too and has to be written ``default: '5'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot_rl.launch.errors import LaunchError

#: attribute kind -> the YAML types accepted. launch_yaml also lets a string through for int and float
#: attributes (respawn_delay, respawn_max_retries, sigterm_timeout, ...) but then fails comparing it
#: with a number, so a string is refused here with a clear message instead.
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (str, bool),
    "int": (int,),
    "float": (float,),
}
_SCALARS = (str, int, float, bool)


class Entity:
    """A ``{type_name: element}`` item; ``where`` locates it for error messages."""

    def __init__(self, element: Any, type_name: str, file: Path, path: str) -> None:
        self.element = {} if element is None else element
        self.type_name = type_name
        self.file = file
        self.path = path
        self._read: set[str] = set()
        self._children_read = False

    def error(self, message: str) -> LaunchError:
        return LaunchError(f"{self.file} ({self.path}): {message}")

    @property
    def children(self) -> list[Entity]:
        """Sub-entities: the element itself when it is a list, else its ``children`` list."""
        self._children_read = True
        element, path = self.element, self.path
        if isinstance(element, dict):
            if "children" not in element:
                raise self.error(
                    f"Expected entity `{self.type_name}` to have children entities. That can be a list of "
                    "subentities or a dictionary with a `children` list element"
                )
            self._read.add("children")
            element, path = element["children"], f"{path}.children"
        if not isinstance(element, list):
            raise self.error(f"Expected a dict or list, got {type(element).__name__}: {element!r}")
        entities = []
        for i, child in enumerate(element):
            if not isinstance(child, dict) or len(child) != 1:
                raise self.error(
                    f"Subentities must be a dictionary with only one key, which is the entity type; "
                    f"item {i} is {child!r}"
                )
            ((name, value),) = child.items()
            entities.append(Entity(value, str(name), self.file, f"{path}[{i}].{name}"))
        return entities

    def has(self, name: str) -> bool:
        return isinstance(self.element, dict) and name in self.element

    def get(self, name: str, kind: str = "str", *, optional: bool = False) -> Any:
        """The attribute ``name``; ``kind``: str, bool, int, float, value (a parameter value), entities."""
        if not self.has(name):
            if optional:
                return None
            raise self.error(f"Can not find attribute '{name}' in Entity '{self.type_name}'")
        self._read.add(name)
        value = self.element[name]
        if kind == "entities":
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return [Entity(v, name, self.file, f"{self.path}.{name}[{i}]") for i, v in enumerate(value)]
            raise self.error(
                f"Attribute '{name}' of Entity '{self.type_name}' expected to be a list of dictionaries."
            )
        if kind == "value":
            ok = isinstance(value, _SCALARS) or (
                isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)
            )
        else:
            accepted = _ACCEPTED[kind]
            ok = isinstance(value, accepted) and not (kind in ("int", "float") and isinstance(value, bool))
        if not ok:
            hint = ""
            if kind == "str" and isinstance(value, _SCALARS):
                hint = f"; quote it in YAML: {name}: '{_yaml_text(value)}'"
            elif kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                hint = f"; write it as a float: {name}: {float(value)}"
            raise self.error(
                f"Attribute '{name}' of Entity '{self.type_name}' expected to be of type '{kind}', "
                f"got '{type(value).__name__}'{hint}"
            )
        return value

    def assert_completely_parsed(self) -> None:
        """Reject keys (or nested entities) that no part of the parser read."""
        if isinstance(self.element, list):
            if not self._children_read:
                raise self.error(f"Unexpected nested entity(ies) found in `{self.type_name}`: {self.element}")
            return
        if not isinstance(self.element, dict):
            raise self.error(
                f"Expected a dictionary of attributes for `{self.type_name}`, got {self.element!r}"
            )
        unparsed = sorted(set(self.element) - self._read, key=str)
        if unparsed:
            keys = "{" + ", ".join(repr(k) for k in unparsed) + "}"
            raise self.error(f"Unexpected key(s) found in `{self.type_name}`: {keys}")


def _yaml_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)

"""The wire format between actors and learner: msgpack maps with NumPy arrays as typed byte buffers.

No pickle: a message is a msgpack map with a ``type`` from ``MESSAGE_FIELDS`` and exactly the listed
fields; arrays travel as ``{"__nd__": [dtype, shape, bytes]}`` with a dtype from ``ALLOWED_DTYPES``.
Anything else raises ``WireError`` and the receiver drops it with a logged reason — a malformed or
hostile message is never executed.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

ALLOWED_DTYPES = frozenset(
    ["|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8", "|b1"]
)

#: message type -> required fields (besides ``type``)
MESSAGE_FIELDS: dict[str, frozenset[str]] = {
    # ``oldest``: the lowest batch number the actor still holds (its next one when it holds none)
    "hello": frozenset({"actor", "session", "weights_version", "oldest"}),
    "transitions": frozenset({"actor", "session", "seq", "items"}),
    "heartbeat": frozenset({"actor", "session", "time", "oldest"}),
    # ``learner``: the learner process's id; ``credit`` counts what *that* learner consumed
    "ack": frozenset({"session", "seq", "credit", "learner"}),
    "weights": frozenset({"version", "data"}),
    "learner_heartbeat": frozenset({"time", "weights_version", "credit", "learner"}),
}
#: what every transition carries (an actor may add more: is_intervention, first, success, safety ...)
TRANSITION_KEYS = frozenset({"obs", "action", "reward", "next_obs", "terminated", "truncated"})
INTEGER_FIELDS = ("seq", "oldest", "weights_version", "credit", "version")
MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class WireError(ValueError):
    """A message that does not parse or does not match its schema."""


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype.str not in ALLOWED_DTYPES:
            raise TypeError(f"cannot send arrays of dtype {arr.dtype}")
        return {"__nd__": [arr.dtype.str, list(arr.shape), arr.tobytes()]}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send a {type(obj).__name__}")


def _object_hook(obj: dict) -> Any:
    if "__nd__" not in obj:
        return obj
    try:
        dtype, shape, data = obj["__nd__"]
        if dtype not in ALLOWED_DTYPES:
            raise WireError(f"array dtype {dtype!r} is not allowed")
        return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
    except (TypeError, ValueError) as err:
        raise WireError(f"bad array encoding: {err}") from None


def encode(message: dict[str, Any]) -> bytes:
    """Serialise a message; ``check`` first so a bad message fails at the sender."""
    check(message)
    return msgpack.packb(message, default=_default, use_bin_type=True)


def decode(frame: bytes) -> dict[str, Any]:
    """Parse and validate one frame. :raises WireError: with the reason."""
    if len(frame) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(frame)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        message = msgpack.unpackb(frame, object_hook=_object_hook, raw=False, strict_map_key=True)
    except WireError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as err:
        raise WireError(f"not a msgpack message ({type(err).__name__}: {err})") from None
    check(message)
    return message


def check(message: Any) -> None:
    if not isinstance(message, dict):
        raise WireError(f"message is a {type(message).__name__}, not a map")
    kind = message.get("type")
    if kind not in MESSAGE_FIELDS:
        raise WireError(f"unknown message type {kind!r}; known: {sorted(MESSAGE_FIELDS)}")
    fields = set(message) - {"type"}
    if fields != MESSAGE_FIELDS[kind]:
        raise WireError(
            f"{kind} message has fields {sorted(fields)}, expected {sorted(MESSAGE_FIELDS[kind])}"
        )
    for name in INTEGER_FIELDS:
        if name in message and (not isinstance(message[name], int) or isinstance(message[name], bool)):
            raise WireError(f"{kind}.{name} must be an integer, not {type(message[name]).__name__}")
    if kind == "transitions":
        if not isinstance(message["items"], list):
            raise WireError("transitions.items must be a list")
        for item in message["items"]:
            if not isinstance(item, dict) or not set(item) >= TRANSITION_KEYS:
                raise WireError(f"every transition must be a map with at least {sorted(TRANSITION_KEYS)}")

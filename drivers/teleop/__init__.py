"""Teleoperation devices behind one interface (``device.py``); ``make_device(cfg)`` builds one from config.

A device's config is one file of configs/device/ (``load_device_config("gamepad", ["deadzone=0.2"])``);
its ``type`` picks the backend; ``load_device("gamepad", ["deadzone=0.2"])`` does both steps.
Backends are imported only when used, so only ``joy`` and ``teleop_topic`` load rclpy.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping as AnyMapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from drivers.teleop.device import EVENTS, DeviceNotFound, TeleopDevice, TeleopState
from robot_rl.errors import ConfigError

__all__ = [
    "DEVICE_TYPES",
    "EVENTS",
    "DeviceNotFound",
    "TeleopDevice",
    "TeleopState",
    "load_device",
    "load_device_config",
    "make_device",
]

#: ``type`` -> the backend class, as "module:Class" (imported on use).
DEVICE_TYPES = {
    "keyboard": "drivers.teleop.keyboard:Keyboard",
    "gamepad": "drivers.teleop.gamepad:Gamepad",
    "spacemouse": "drivers.teleop.spacemouse:SpaceMouse",
    "joy": "drivers.teleop.ros_joy:Joy",
    "scripted": "drivers.teleop.scripted:Scripted",
    "teleop_topic": "drivers.teleop.ros_teleop_topic:TeleopTopic",
}


def make_device(cfg: DictConfig | AnyMapping[str, Any], **options: Any) -> TeleopDevice:
    """The device a configs/device/*.yaml describes; ``options`` go to the backend (tests: ``clock``).

    Raises ``ConfigError`` for an unknown ``type`` or a bad key, ``DeviceNotFound`` when the device
    is not there.
    """
    from robot_rl.config import to_dataclass

    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    kind = node.get("type")
    if kind not in DEVICE_TYPES:
        raise ConfigError(
            f"teleop device type {kind!r} is not one of {sorted(DEVICE_TYPES)}; "
            "set `type:` in the device's configs/device/*.yaml"
        )
    module, name = DEVICE_TYPES[kind].split(":")
    backend = getattr(importlib.import_module(module), name)
    return backend(to_dataclass(backend.Config, node, f"device ({kind})"), **options)


def load_device_config(name: str, overrides: list[str] | None = None) -> DictConfig:
    """configs/device/<name>.yaml with Hydra overrides of its keys (``["deadzone=0.2", "path=/dev/x"]``)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    from robot_rl.config import configs_dir

    available = sorted(path.stem for path in (configs_dir() / "device").glob("*.yaml"))
    if name not in available:
        raise ConfigError(f"teleop device {name!r} is not in configs/device; available: {available}")
    prefixed = [_under_device(override) for override in overrides or []]
    try:
        with initialize_config_dir(config_dir=str(configs_dir()), version_base="1.3"):
            return compose(config_name=None, overrides=[f"+device={name}", *prefixed]).device
    except HydraException as err:
        raise ConfigError(f"bad overrides {overrides} for device {name!r}: {err}") from None


def load_device(name: str, overrides: list[str] | None = None, **options: Any) -> TeleopDevice:
    """``make_device(load_device_config(name, overrides))``: the device of configs/device/<name>.yaml."""
    return make_device(load_device_config(name, overrides), **options)


def _under_device(override: str) -> str:
    """``deadzone=0.2`` -> ``device.deadzone=0.2`` (also ``+key=`` / ``~key``)."""
    sign = override[: len(override) - len(override.lstrip("+~"))]
    return f"{sign}device.{override[len(sign) :]}"

"""What every robot_rl node shares: its parameters, the one Hydra config, and a clean exit.

ROS parameters and Hydra agree by construction: a node's only settings parameter is ``overrides``,
a string of Hydra overrides (``"task=pick_cube train.seed=1"``) applied to ``configs/train.yaml`` —
the same config ``robot-rl train`` reads — plus the transport ``endpoint`` and ``keys`` folder.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import rclpy
from omegaconf import DictConfig
from rcl_interfaces.msg import ParameterDescriptor
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from robot_rl.config import load_config
from robot_rl.data.layout import DatasetError
from robot_rl.errors import ConfigError, DeviceError

T = TypeVar("T")


@dataclass
class NodeSettings:
    cfg: DictConfig
    endpoint: str
    keys: str | None


def declare(node: Node, name: str, default: T) -> T:
    """A parameter read as ``default``'s type. A value given as another type is converted, not refused
    with a traceback: ``camera:=0`` in a launch file reaches the node as an integer, ``rate_hz:=30`` too."""
    descriptor = ParameterDescriptor(dynamic_typing=True)
    value = node.declare_parameter(name, default, descriptor).value
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise ConfigError(f"parameter {name}={value!r} is not a {type(default).__name__}") from None


def read_settings(node: Node) -> NodeSettings:
    overrides = node.declare_parameter("overrides", "").get_parameter_value().string_value
    endpoint = node.declare_parameter("endpoint", "tcp://127.0.0.1:5555").get_parameter_value().string_value
    keys = node.declare_parameter("keys", "").get_parameter_value().string_value
    return NodeSettings(load_config("train", shlex.split(overrides)), endpoint, keys or None)


def run_node(name: str, body: Callable[[Node], int]) -> int:
    """rclpy.init, build the node, run ``body``; Ctrl-C or an external shutdown is a normal exit."""
    logging.basicConfig(level=logging.INFO, format=f"[{name}] %(levelname)s %(name)s: %(message)s")
    rclpy.init()
    node = rclpy.create_node(name)
    try:
        return body(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        return 0
    except (ConfigError, DeviceError, DatasetError) as err:  # user-fixable: one message, no traceback
        node.get_logger().error(str(err))
        return 1
    except RCLError:
        if not rclpy.ok():  # SIGTERM while spinning (DESIGN.md: Kilted wheels)
            return 0
        raise
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()

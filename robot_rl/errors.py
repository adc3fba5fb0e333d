"""Errors a user can cause; the CLI turns each into one message (no traceback). Import-light on purpose."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user-fixable configuration problem; the message names the cause and the fix."""


class DeviceError(RuntimeError):
    """A robot, camera or peer that is missing or not answering; the message names it and the fix."""


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file and the fix."""

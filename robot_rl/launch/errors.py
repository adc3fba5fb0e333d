"""The one error type of the launcher: a launch file or command-line problem a user can fix."""

from __future__ import annotations


class LaunchError(Exception):
    """A user-fixable launch problem; the message names the file, the entity and the cause."""

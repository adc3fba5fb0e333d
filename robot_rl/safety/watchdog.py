"""Command watchdog for robot nodes: hold the arm when commands stop (dead actor, cut cable, hung
learner), independent of the learner and of the shield's triggers."""

from __future__ import annotations


class Watchdog:
    """Expired when no command was fed for ``timeout_s`` (two control periods by default in the nodes).

    A reset leaves the arm at rest at its start pose with no command due until the next step:
    ``at_rest()`` holds it quietly there, so the gap between episodes is not reported as a lost actor.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.last_feed: float | None = None
        self.holding = False  # the state reported the last time ``check`` ran

    def feed(self, now: float) -> None:
        self.last_feed = now

    def at_rest(self) -> None:
        self.last_feed, self.holding = None, True

    def check(self, now: float) -> tuple[bool, bool]:
        """``(expired, changed)``: whether the arm must hold, and whether that changed since last time."""
        expired = self.last_feed is None or now - self.last_feed > self.timeout_s
        changed, self.holding = expired != self.holding, expired
        return expired, changed

    def tripped(self, expired: bool, changed: bool) -> bool:
        """Commands stopped mid-episode (not before the first command after a reset)."""
        return changed and expired and self.last_feed is not None

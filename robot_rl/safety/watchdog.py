"""Command watchdog for robot nodes: hold the arm when commands stop (dead actor, cut cable, hung
learner), independent of the learner and of the shield's triggers."""

from __future__ import annotations


class Watchdog:
    """Expired when no command was fed for ``timeout_s`` (two control periods by default in the nodes)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.last_feed: float | None = None
        self.holding = False  # the state reported the last time ``check`` ran

    def feed(self, now: float) -> None:
        self.last_feed = now

    def check(self, now: float) -> tuple[bool, bool]:
        """``(expired, changed)``: whether the arm must hold, and whether that changed since last time."""
        expired = self.last_feed is None or now - self.last_feed > self.timeout_s
        changed, self.holding = expired != self.holding, expired
        return expired, changed

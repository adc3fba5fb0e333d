"""``SafetyShield``: the innermost env wrapper, on every path to a motor (DESIGN.md "Safety").

Each step, in order:

1. the proposed action is validated (NaN/Inf or a wrong shape: logged and refused with ``ValueError``)
   and clipped into [-1, 1];
2. triggers are checked on the last measurement (joint speed, force/torque above their limits), the
   risk monitor on the proposed action, and the heartbeat; a trigger hands control to its backup
   (config: ``safety.backups``) until it clears, plus ``backup_steps`` steps;
3. the action (the policy's or the backup's) passes the per-step delta limit, the workspace box
   (position and orientation) and the commanded-speed limit;
4. the env executes it. ``info`` carries ``safety`` (this step's events: layer, reason, time),
   ``shielded``, ``proposed_action`` and ``executed_action``; every event is also kept in ``trips``
   for the run summary and logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.errors import ConfigError
from robot_rl.safety.backup import Backup, EStop, Hold, make_backup
from robot_rl.safety.config import SafetyConfig
from robot_rl.safety.layers import (
    DeltaLimit,
    MeasuredLimits,
    Pose,
    VelocityLimit,
    WorkspaceBox,
    clip_action,
)

log = logging.getLogger(__name__)
#: When several triggers fire at once, the first in this order chooses the backup.
TRIGGER_PRIORITY = ("force", "joint_velocity", "heartbeat", "risk")
ROUTINE_LAYERS = ("clip", "delta", "workspace", "velocity", "backup")


class EStopLatched(RuntimeError):
    """A reset was asked for while the e-stop is latched: it would move the arm (home), so it is refused."""


class SafetyShield(gym.Wrapper):
    """:param base_policy: ``policy(obs) -> 7-D action`` for the ``base_policy`` backup.
    :param risk_monitor: an object with ``risk(obs, action) -> float`` (``robot_rl.safety.risk``); a
        ``SafetyCritic`` is also fed every executed step.
    :param heartbeat: ``() -> bool``, False when the learner/operator link is lost.
    """

    def __init__(
        self,
        env: gym.Env,
        cfg: SafetyConfig,
        *,
        base_policy: Callable[[dict[str, Any]], np.ndarray] | None = None,
        risk_monitor: Any = None,
        heartbeat: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(env)
        cfg.check()
        self.cfg, self.risk_monitor, self.heartbeat = cfg, risk_monitor, heartbeat
        base = env.unwrapped
        self.action_scale = np.asarray(base.action_scale, dtype=np.float64)
        self.period_s = 1.0 / float(base.control_hz)
        self.box = workspace_box(cfg, base)
        own = getattr(base, "tcp_target", None)
        if own is not None:  # the env turns its previous *target*, which the shield never sees: bound it
            own.rotation_limit = np.minimum(own.rotation_limit, self.box.rotation_limit)
        self.delta_limit = DeltaLimit(cfg.max_step_m, cfg.max_step_rad)
        self.velocity_limit = VelocityLimit(cfg.max_tcp_speed, cfg.max_tcp_rot_speed)
        self.measured = MeasuredLimits(np.asarray(cfg.max_joint_vel), cfg.max_force_n, cfg.max_torque_nm)
        self.backups: dict[str, Backup] = {}
        for _trigger, name in cfg.backups.items():
            if name not in self.backups:
                self.backups[name] = make_backup(
                    name,
                    retreat_m=cfg.retreat_distance_m,
                    home_step_m=cfg.home_step_m,
                    base_policy=base_policy,
                )
        self.trips: list[dict[str, Any]] = []  # every event of the run
        self._counts: Counter[str] = Counter()
        self.estopped = False
        self.steps = 0
        self._obs: dict[str, Any] | None = None
        self._over_limits: dict[str, str] = {}  # measured limits the last observation exceeds
        self._tare: np.ndarray | None = None
        self._active: Backup | None = None
        self._backup_left = 0
        self._gripper = -1.0

    # ------------------------------------------------------------------------------------------ gym API
    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """A new episode. Refused with ``EStopLatched`` while the e-stop is latched: a robot's reset drives
        the arm home outside the shield's layers, so it waits for the release like any other motion."""
        if self.estopped:
            self._record([{"layer": "estop", "reason": "reset refused while latched"}])
            raise EStopLatched("the e-stop is latched and a reset would move the arm; release it first")
        end_episode = getattr(self.risk_monitor, "end_episode", None)
        if end_episode is not None:  # a time limit sits outside the shield: its truncation ends it here
            end_episode()
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        state = obs["state"]
        self._tare = (
            np.asarray(state["tcp_wrench"], dtype=np.float64).copy() if "tcp_wrench" in state else None
        )
        self._over_limits = self.measured.triggers(state, self._tare)
        self._active, self._backup_left, self._gripper = None, 0, -1.0
        pose = self._pose()
        for backup in self.backups.values():
            backup.reset(pose)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        assert self._obs is not None, "SafetyShield.step before reset"
        try:
            proposed, events = clip_action(action)
        except ValueError as err:
            self._record([{"layer": "clip", "reason": f"action refused: {err}"}])
            log.error("safety: action refused and not sent: %s", err)
            raise
        events = [{"layer": "clip", "reason": r} for r in events]
        pose = self._pose()
        command, backup_events = self._choose(proposed, pose)
        events += backup_events
        layers = (("delta", self.delta_limit), ("workspace", self.box), ("velocity", self.velocity_limit))
        for layer_name, layer in layers:
            command, reasons = layer(command, pose)
            events += [{"layer": layer_name, "reason": r} for r in reasons]
        if not np.all(np.isfinite(command)):  # a non-finite measurement makes a non-finite command
            command = Hold().act(self._obs, pose, self._gripper)
            events.append({"layer": "measurement", "reason": "non-finite measured TCP pose: holding"})
        obs, reward, terminated, truncated, info = self.env.step(command.astype(np.float32))
        self._gripper = float(command[6])
        if self._active is None:  # the approach is the policy's motion, never the backup's own
            for backup in self.backups.values():
                backup.record(command)
        over_limits = self.measured.triggers(obs["state"], self._tare)  # once per observation
        observe = getattr(self.risk_monitor, "observe", None)
        if observe is not None:  # a self-trained monitor (SafetyCritic) learns from every executed step
            observe(self._obs, command, bool(over_limits), terminated or truncated)
        self._obs, self._over_limits = obs, over_limits
        self.steps += 1
        self._record(events)
        info["safety"] = list(info.get("safety", [])) + events
        info["shielded"] = bool(events)
        info["proposed_action"] = proposed.astype(np.float32)
        info["executed_action"] = command.astype(np.float32)
        return obs, reward, terminated, truncated, info

    # ------------------------------------------------------------------------------------------ e-stop
    def estop(self, reason: str = "e-stop") -> None:
        """Latch: from now on the arm holds until ``release_estop``."""
        self.estopped, self._active = True, EStop()
        self._record([{"layer": "estop", "reason": f"latched: {reason}"}])

    def release_estop(self) -> None:
        self.estopped, self._active = False, None
        self._record([{"layer": "estop", "reason": "released"}])

    def summary(self) -> dict[str, int]:
        """Events of the run per layer/trigger (for the training summary)."""
        return dict(Counter(t["layer"] for t in self.trips))

    # ------------------------------------------------------------------------------------------ internals
    def _pose(self) -> Pose:
        tcp = np.asarray(self._obs["state"]["tcp_pose"], dtype=np.float64)
        return Pose(tcp[:3], tcp[3:], self.action_scale, self.period_s)

    def _triggers(self, proposed: np.ndarray) -> dict[str, str]:
        found = dict(self._over_limits)
        if self.heartbeat is not None and not self.heartbeat():
            found["heartbeat"] = "heartbeat lost"
        if self.risk_monitor is not None:
            risk = self.risk_monitor.risk(self._obs, proposed)
            warm = (
                getattr(self.risk_monitor, "steps", self.cfg.risk_warmup_steps) >= self.cfg.risk_warmup_steps
            )
            if warm and risk > self.cfg.risk_threshold:
                found["risk"] = f"risk {risk:.2f} > {self.cfg.risk_threshold:g}"
        return found

    def _choose(self, proposed: np.ndarray, pose: Pose) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """The policy's action, or a backup's while a trigger holds (plus ``backup_steps`` after)."""
        if self.estopped:
            return self._active.act(self._obs, pose, self._gripper), [{"layer": "estop", "reason": "holding"}]
        triggers = self._triggers(proposed)
        events = []
        if triggers:
            first = next(t for t in TRIGGER_PRIORITY if t in triggers)
            backup = self.backups[self.cfg.backups[first]]
            if isinstance(backup, EStop):
                self.estop(triggers[first])
            self._active, self._backup_left = backup, self.cfg.backup_steps
            events = [
                {"layer": name, "reason": f"{why}; backup {backup.name}"} for name, why in triggers.items()
            ]
        elif self._active is not None:
            if self._backup_left <= 0:
                self._active = None
                events = [{"layer": "backup", "reason": "control handed back to the policy"}]
            self._backup_left -= 1  # the backup keeps control for backup_steps steps after the trigger
        if self._active is None:
            return proposed.copy(), events
        events.append({"layer": "backup", "reason": f"{self._active.name} in control"})
        return np.clip(self._active.act(self._obs, pose, self._gripper), -1.0, 1.0), events

    def _record(self, events: list[dict[str, Any]]) -> None:
        now = time.time()
        for event in events:
            event.setdefault("time", now)
            event.setdefault("step", self.steps)
            self.trips.append(event)
            # Trips (a backup takes over, an e-stop) are news, clipping to the limits is routine; a
            # training run can trip hundreds of times, so each kind is logged 3 times, then every 100th.
            self._counts[event["layer"]] += 1
            n = self._counts[event["layer"]]
            if event["layer"] in ROUTINE_LAYERS or (n > 3 and n % 100):
                log.debug("safety [%s] %s", event["layer"], event["reason"])
            else:
                log.warning("safety [%s] #%d: %s", event["layer"], n, event["reason"])


def workspace_box(cfg: SafetyConfig, base: gym.Env) -> WorkspaceBox:
    """The configured box, else the env's own (every simulated arm has ``tcp_target``)."""
    own = getattr(base, "tcp_target", None)
    low = cfg.workspace_low if cfg.workspace_low is not None else getattr(own, "low", None)
    high = cfg.workspace_high if cfg.workspace_high is not None else getattr(own, "high", None)
    limit = cfg.rotation_limit if cfg.rotation_limit is not None else getattr(own, "rotation_limit", None)
    home = getattr(own, "home_quat", getattr(base, "home_quat", None))
    if low is None or high is None or limit is None or home is None:
        raise ConfigError(
            f"the safety shield needs a workspace box and {type(base).__name__} has none: set "
            "safety.workspace_low, safety.workspace_high and safety.rotation_limit (calibrate them on the "
            "robot, docs/real_robot.md), or run the shield where the box is known (the robot node)"
        )
    margin = cfg.workspace_margin_m
    return WorkspaceBox(
        np.asarray(low) + margin, np.asarray(high) - margin, np.asarray(home), np.asarray(limit)
    )

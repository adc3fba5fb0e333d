"""The shield's layers, in order; each takes a normalised 7-D action and returns it (maybe changed) with
the reasons it changed it. Each is usable and testable alone.

    action clip -> per-step delta limit -> workspace box (position, orientation) -> velocity limits

``Pose`` carries what the layers need from the robot: the measured TCP pose and the env's
``action_scale`` (metres, radians per unit action) and control period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.envs.interface import check_action
from robot_rl.geometry import quat_error, quat_from_rotvec, quat_mul


@dataclass
class Pose:
    pos: np.ndarray  # measured TCP position [m]
    quat: np.ndarray  # measured TCP orientation, wxyz
    action_scale: np.ndarray  # (m, rad) per unit action
    period_s: float  # control period


def clip_action(action: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Layer 1: NaN/Inf or a wrong shape raise ``ValueError`` (never sent); values clip into [-1, 1]."""
    raw = np.asarray(action, dtype=np.float64)
    clipped = check_action(raw)
    return clipped, (["action outside [-1, 1] clipped"] if np.any(clipped != raw) else [])


def _cap_norm(vec: np.ndarray, limit: float) -> tuple[np.ndarray, bool]:
    norm = float(np.linalg.norm(vec))
    return (vec * (limit / norm), True) if norm > limit else (vec, False)


class DeltaLimit:
    """Layer 2: the commanded motion per control step is at most ``max_step_m`` / ``max_step_rad``."""

    def __init__(self, max_step_m: float, max_step_rad: float) -> None:
        self.max_step_m, self.max_step_rad = max_step_m, max_step_rad

    def __call__(self, action: np.ndarray, pose: Pose) -> tuple[np.ndarray, list[str]]:
        return _limit_motion(action, pose, self.max_step_m, self.max_step_rad, "per-step delta")


class VelocityLimit:
    """Layer 4 (commands): commanded TCP speed at most ``max_speed`` m/s and ``max_rot_speed`` rad/s."""

    def __init__(self, max_speed: float, max_rot_speed: float) -> None:
        self.max_speed, self.max_rot_speed = max_speed, max_rot_speed

    def __call__(self, action: np.ndarray, pose: Pose) -> tuple[np.ndarray, list[str]]:
        return _limit_motion(
            action, pose, self.max_speed * pose.period_s, self.max_rot_speed * pose.period_s, "TCP speed"
        )


def _limit_motion(
    action: np.ndarray, pose: Pose, max_m: float, max_rad: float, what: str
) -> tuple[np.ndarray, list[str]]:
    out, reasons = action.copy(), []
    move, capped = _cap_norm(action[:3] * pose.action_scale[0], max_m)
    if capped:
        out[:3] = move / pose.action_scale[0]
        reasons.append(f"{what}: translation capped to {max_m:.4f} m per step")
    turn, capped = _cap_norm(action[3:6] * pose.action_scale[1], max_rad)
    if capped:
        out[3:6] = turn / pose.action_scale[1]
        reasons.append(f"{what}: rotation capped to {max_rad:.4f} rad per step")
    return out, reasons


class WorkspaceBox:
    """Layer 3: the TCP target (measured pose + commanded delta) stays inside a position box and an
    orientation box (rotation vector from ``home_quat``, per base axis)."""

    def __init__(
        self, low: np.ndarray, high: np.ndarray, home_quat: np.ndarray, rotation_limit: np.ndarray
    ) -> None:
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        if np.any(self.low >= self.high):
            raise ValueError(f"workspace box low {self.low.tolist()} is not below high {self.high.tolist()}")
        self.home_quat = np.asarray(home_quat, dtype=np.float64)
        self.rotation_limit = np.asarray(rotation_limit, dtype=np.float64)

    def __call__(self, action: np.ndarray, pose: Pose) -> tuple[np.ndarray, list[str]]:
        out, reasons = action.copy(), []
        target = pose.pos + action[:3] * pose.action_scale[0]
        inside = np.clip(target, self.low, self.high)
        if np.any(inside != target):
            out[:3] = np.clip((inside - pose.pos) / pose.action_scale[0], -1.0, 1.0)
            axes = "".join("xyz"[i] for i in np.flatnonzero(inside != target))
            reasons.append(f"workspace: position target outside the box on {axes}; clipped")
        turn = quat_from_rotvec(action[3:6] * pose.action_scale[1])
        offset = quat_error(quat_mul(turn, pose.quat), self.home_quat)
        bounded = np.clip(offset, -self.rotation_limit, self.rotation_limit)
        if np.any(np.abs(bounded - offset) > 1e-9):
            target_quat = quat_mul(quat_from_rotvec(bounded), self.home_quat)
            out[3:6] = np.clip(quat_error(target_quat, pose.quat) / pose.action_scale[1], -1.0, 1.0)
            reasons.append("workspace: orientation target outside the rotation box; clipped")
        return out, reasons

    def contains(self, pos: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(pos >= self.low - tol) and np.all(pos <= self.high + tol))


@dataclass
class MeasuredLimits:
    """Layer 4 (measurements): joint speed and force/torque (relative to the value at reset).

    These cannot be clipped out of a command; when one is exceeded it names a trigger for a backup.
    """

    max_joint_vel: np.ndarray
    max_force_n: float
    max_torque_nm: float

    def triggers(self, state: dict[str, np.ndarray], wrench_tare: np.ndarray | None) -> dict[str, str]:
        found = {}
        joint_vel = np.abs(np.asarray(state.get("joint_vel", ()), dtype=np.float64))
        if joint_vel.size:
            limit = np.broadcast_to(self.max_joint_vel, joint_vel.shape)
            over = np.flatnonzero(joint_vel > limit)
            if over.size:
                j = int(over[np.argmax(joint_vel[over] / limit[over])])
                found["joint_velocity"] = f"joint {j + 1} at {joint_vel[j]:.2f} rad/s > {limit[j]:.2f}"
        if "tcp_wrench" in state and wrench_tare is not None:
            wrench = np.asarray(state["tcp_wrench"], dtype=np.float64) - wrench_tare
            force, torque = float(np.linalg.norm(wrench[:3])), float(np.linalg.norm(wrench[3:]))
            if force > self.max_force_n:
                found["force"] = f"force {force:.1f} N > {self.max_force_n:g} N"
            elif torque > self.max_torque_nm:
                found["force"] = f"torque {torque:.2f} Nm > {self.max_torque_nm:g} Nm"
        return found

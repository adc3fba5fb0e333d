"""Settings of the safety layer (``configs/safety/default.yaml``); every limit is in SI units."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.errors import ConfigError

#: Which backup answers which trigger (a trigger may also map to "estop": stop and stay stopped).
DEFAULT_BACKUPS = {
    "force": "retreat",  # measured force/torque above its limit: back off along the approach
    "joint_velocity": "hold",  # measured joint speed above its limit
    "risk": "hold",  # the risk monitor expects a violation
    "heartbeat": "hold",  # the learner or operator went silent
}


@dataclass
class SafetyConfig:
    enabled: bool = True
    # Layer 2: per-step delta limit (norm of the commanded motion per control step).
    max_step_m: float = 0.06
    max_step_rad: float = 0.3
    # Layer 3: workspace box; None takes the env's own box (``workspace_low/high``, ``rotation_limit``).
    workspace_low: list[float] | None = None  # [m], base frame
    workspace_high: list[float] | None = None
    rotation_limit: list[float] | None = None  # rotation vector from the home orientation, per axis [rad]
    workspace_margin_m: float = 0.0  # shrink the box by this much on every side
    # Layer 4: velocity and force/torque limits.
    max_tcp_speed: float = 0.6  # commanded linear TCP speed [m/s]
    max_tcp_rot_speed: float = 1.0  # commanded angular TCP speed [rad/s]
    max_joint_vel: list[float] = field(
        default_factory=lambda: [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]
    )  # measured [rad/s] (Franka datasheet); above it the backup engages
    max_force_n: float = 40.0  # measured force minus its value at reset [N]
    max_torque_nm: float = 5.0  # measured torque minus its value at reset [Nm]
    # Backups.
    backups: dict = field(default_factory=lambda: dict(DEFAULT_BACKUPS))
    backup_steps: int = 5  # control steps a backup keeps control after its trigger clears
    retreat_distance_m: float = 0.03  # how far a retreat backs off per step at most
    home_step_m: float = 0.02  # go-home speed per step
    # Learned risk monitor: none | safety_critic (Recovery RL) | ensemble (critic disagreement).
    risk_monitor: str = "none"
    risk_threshold: float = 0.3  # safety critic: violation probability; ensemble: Q std
    risk_horizon_gamma: float = 0.85  # discount of the safety critic's violation target
    risk_warmup_steps: int = 2000  # steps of experience before the safety critic may fire

    def check(self) -> None:
        for name in ("max_step_m", "max_step_rad", "max_tcp_speed", "max_tcp_rot_speed", "max_force_n"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"safety.{name}={getattr(self, name)} must be > 0")
        if self.risk_monitor not in ("none", "safety_critic", "ensemble"):
            raise ConfigError(
                f"safety.risk_monitor={self.risk_monitor!r} is not one of none, safety_critic, ensemble"
            )
        known = {"hold", "retreat", "home", "base_policy", "estop"}
        bad = {k: v for k, v in self.backups.items() if v not in known}
        if bad:
            raise ConfigError(f"safety.backups {bad}: backups are {sorted(known)}")
        unknown = set(self.backups) - set(DEFAULT_BACKUPS)
        if unknown:
            raise ConfigError(
                f"safety.backups has unknown triggers {sorted(unknown)}; known: {sorted(DEFAULT_BACKUPS)}"
            )


def safety_config(cfg) -> SafetyConfig:
    """The ``safety`` group of a loaded Hydra config (defaults where an older run's config has none)."""
    from robot_rl.config import to_dataclass

    return to_dataclass(SafetyConfig, cfg.safety, "safety") if "safety" in cfg else SafetyConfig()

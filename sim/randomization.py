"""Domain randomization for the MuJoCo Panda tasks: physics, controller, timing, sensing and looks.

Every quantity is drawn once per episode, at ``reset``, from the env's seeded generator (after the task
has placed its objects, so the same seed gives the same start with or without randomization). A range
``[lo, hi]`` is sampled uniformly; ``lo == hi`` is a fixed shift (the ``dr=shifted`` preset uses that to
make a reproducible "other robot"). The drawn values go into ``info["randomization"]`` at reset and on
every step, so a logged episode says which world it ran in.

==========================  =========================================================================
object_mass_scale           x the nominal mass (and inertia) of the task's objects (``dr_bodies``)
object_friction_scale       x the sliding friction of the objects' geoms
object_size_scale           x the objects' geom sizes (boxes; inertia follows as size^2)
arm_damping_scale           x the arm joints' damping
controller_gain_scale       x the arm position actuators' kp and kv
action_latency_steps        integer: the action executed is the one chosen that many steps earlier
obs_noise_std               Gaussian noise [obs units: m, rad, m/s] on every state and privileged entry
object_pos_bias_m           a constant per-episode offset [m] per axis on the objects' observed positions
                            (a perception pipeline's calibration error)
camera_pos_offset_m         offset [m] per axis of every camera's position
camera_fovy_offset_deg      offset of every camera's vertical field of view
light_scale                 x the scene light's and headlight's diffuse intensity
material_rgb_offset         offset added to each material's and object's RGB (textures are tinted by it)
==========================  =========================================================================
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any

import mujoco
import numpy as np

from robot_rl.errors import ConfigError

Range = tuple[float, float]


@dataclass
class DomainRandomization:
    enabled: bool = False
    object_mass_scale: Range = (1.0, 1.0)
    object_friction_scale: Range = (1.0, 1.0)
    object_size_scale: Range = (1.0, 1.0)
    arm_damping_scale: Range = (1.0, 1.0)
    controller_gain_scale: Range = (1.0, 1.0)
    action_latency_steps: tuple[int, int] = (0, 0)
    obs_noise_std: Range = (0.0, 0.0)
    object_pos_bias_m: Range = (0.0, 0.0)
    camera_pos_offset_m: Range = (0.0, 0.0)
    camera_fovy_offset_deg: Range = (0.0, 0.0)
    light_scale: Range = (1.0, 1.0)
    material_rgb_offset: Range = (0.0, 0.0)

    @classmethod
    def from_dict(cls, settings: dict[str, Any] | None) -> DomainRandomization:
        """Validate the ``dr`` config (a dict from Hydra): unknown keys and reversed ranges are errors."""
        settings = dict(settings or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"unknown domain randomization keys {unknown}; valid keys: {sorted(known)}")
        dr = cls(**{k: v if k == "enabled" else tuple(v) for k, v in settings.items()})
        for name, value in asdict(dr).items():
            if name != "enabled" and (len(value) != 2 or value[0] > value[1]):
                raise ConfigError(f"dr.{name}={list(value)} must be a range [low, high] with low <= high")
        if dr.action_latency_steps[0] < 0 or dr.object_size_scale[0] <= 0 or dr.object_mass_scale[0] <= 0:
            raise ConfigError("dr: latency must be >= 0 and mass/size scales > 0")
        return dr


class DomainRandomizer:
    """Applies one episode's draw to a compiled MuJoCo model, always starting from its nominal values.

    :param model: the task's model (changed in place at every ``apply``).
    :param bodies: the task's randomized objects (free bodies: mass, friction, size, position bias).
    :param arm_dofs: dof addresses of the arm joints; ``arm_actuators``: their position actuators.
    """

    def __init__(
        self,
        cfg: DomainRandomization,
        model: mujoco.MjModel,
        bodies: list[str],
        arm_dofs: np.ndarray,
        arm_actuators: list[int],
    ) -> None:
        self.cfg, self.model = cfg, model
        self.body_ids = [model.body(name).id for name in bodies]
        self.geom_ids = [g for g in range(model.ngeom) if model.geom_bodyid[g] in self.body_ids]
        self.arm_dofs, self.arm_actuators = np.asarray(arm_dofs), list(arm_actuators)
        self.nominal = {
            name: getattr(model, name).copy()
            for name in ("body_mass", "body_inertia", "geom_friction", "geom_size", "geom_rbound",
                         "dof_damping", "actuator_gainprm", "actuator_biasprm", "cam_pos", "cam_fovy",
                         "light_diffuse", "mat_rgba", "geom_rgba")
        }  # fmt: skip
        self.headlight = model.vis.headlight.diffuse.copy()
        self.values: dict[str, Any] = {}
        self.pending: deque[np.ndarray] = deque()

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one episode's values: a float per scale, an int latency, a list per per-axis offset."""
        c = self.cfg
        per_axis = ("object_pos_bias_m", "camera_pos_offset_m", "material_rgb_offset")
        self.values = {}
        for name, bounds in asdict(c).items():
            if name == "enabled":
                continue
            low, high = bounds
            if name == "action_latency_steps":
                self.values[name] = int(rng.integers(low, high + 1))
            elif name in per_axis:
                self.values[name] = rng.uniform(low, high, size=3).tolist()
            else:
                self.values[name] = float(rng.uniform(low, high))
        return self.values

    def apply(self) -> None:
        """Write the drawn values into the model (from the nominal ones) and clear the action queue."""
        m, n, v = self.model, self.nominal, self.values
        for name, nominal in n.items():
            getattr(m, name)[:] = nominal
        mass, size = v["object_mass_scale"], v["object_size_scale"]
        for b in self.body_ids:
            m.body_mass[b] = n["body_mass"][b] * mass
            m.body_inertia[b] = n["body_inertia"][b] * mass * size**2
        for g in self.geom_ids:
            m.geom_friction[g, 0] = n["geom_friction"][g, 0] * v["object_friction_scale"]
            m.geom_size[g] = n["geom_size"][g] * size
            m.geom_rbound[g] = n["geom_rbound"][g] * size
            m.geom_rgba[g, :3] = np.clip(n["geom_rgba"][g, :3] + v["material_rgb_offset"], 0.0, 1.0)
        m.dof_damping[self.arm_dofs] = n["dof_damping"][self.arm_dofs] * v["arm_damping_scale"]
        gain = v["controller_gain_scale"]
        for a in self.arm_actuators:  # position actuator: force = kp * ctrl - kp * q - kv * qdot
            m.actuator_gainprm[a, 0] = n["actuator_gainprm"][a, 0] * gain
            m.actuator_biasprm[a, 1:3] = n["actuator_biasprm"][a, 1:3] * gain
        m.cam_pos[:] = n["cam_pos"] + np.asarray(v["camera_pos_offset_m"])
        m.cam_fovy[:] = n["cam_fovy"] + v["camera_fovy_offset_deg"]
        m.light_diffuse[:] = np.clip(n["light_diffuse"] * v["light_scale"], 0.0, 1.0)
        m.vis.headlight.diffuse[:] = np.clip(self.headlight * v["light_scale"], 0.0, 1.0)
        m.mat_rgba[:, :3] = np.clip(n["mat_rgba"][:, :3] + v["material_rgb_offset"], 0.0, 1.0)
        self.pending.clear()

    def size_lift(self, body: str) -> float:
        """How much higher [m] a resized object resting on the table sits than at its nominal size."""
        b = self.model.body(body).id
        half_heights = [
            self.nominal["geom_size"][g, 2] for g in self.geom_ids if self.model.geom_bodyid[g] == b
        ]
        return (self.values["object_size_scale"] - 1.0) * max(half_heights, default=0.0)

    def delayed(self, action: np.ndarray, hold: np.ndarray) -> np.ndarray:
        """The action to execute now: the one chosen ``action_latency_steps`` steps ago (``hold`` before
        the first chosen actions have come through)."""
        latency = self.values["action_latency_steps"]
        if latency == 0:
            return action
        while len(self.pending) < latency:
            self.pending.append(hold)
        self.pending.append(action)
        return self.pending.popleft()

    def observe(self, obs: dict[str, Any], rng: np.random.Generator, object_keys: list[str]) -> None:
        """Add the episode's sensor noise (state, privileged) and object position bias, in place."""
        std, bias = self.values["obs_noise_std"], np.asarray(self.values["object_pos_bias_m"])
        for group in ("state", "privileged"):
            for key, value in obs.get(group, {}).items():
                noisy = value + (bias if group == "privileged" and key in object_keys else 0.0)
                if std > 0:
                    noisy = noisy + rng.normal(0.0, std, value.shape)
                obs[group][key] = noisy.astype(np.float32)

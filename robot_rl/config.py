"""Structured configs: one dataclass per component; the YAML files in configs/ only set values.

``load_config("view", ["task=peg_insert"])`` composes ``configs/view.yaml`` with Hydra and returns a
DictConfig; ``task_config(cfg.task)`` validates the task part against ``TaskConfig`` so a mistyped key
or a wrong type fails at start-up with a message naming it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from robot_rl.errors import ConfigError


def configs_dir() -> Path:
    """configs/ of this checkout, or share/robot_rl/configs of an installed (colcon/pip) package."""
    for candidate in (
        Path(__file__).resolve().parents[1] / "configs",
        Path(sys.prefix) / "share/robot_rl/configs",
    ):
        if candidate.is_dir():
            return candidate
    raise ConfigError("cannot find robot_rl's configs/ folder; reinstall the package (make venv)")


@dataclass
class TaskConfig:
    name: str = "pick_cube"  # short name, used in output paths
    env_id: str = "robot_rl/PandaPickCube-v0"  # gymnasium id
    expert: str | None = "pick_cube"  # scripted expert (sim.experts.EXPERTS), None if none
    max_episode_steps: int = 100  # time limit (truncation) in control steps
    control_hz: float = 10.0  # control steps per second
    physics_dt: float = 0.005  # simulator step [s] (<= 0.005)
    action_scale: list[float] = field(default_factory=lambda: [0.03, 0.15])  # [m, rad] per unit action
    reward_type: str = "sparse"  # sparse (success) | dense (shaped)
    terminate_on_success: bool = True  # end the episode on the first success step
    images: bool = False  # add camera images to the observation
    cameras: list[str] = field(default_factory=lambda: ["front", "wrist"])  # cameras when images=true
    image_size: int = 128  # square image side [px]
    # Cameras the learner sees; None: all of `cameras` when images=true; []: a state policy on an env that
    # still renders its cameras (for a reward classifier, train.reward_classifier).
    policy_cameras: list[str] | None = None
    action_dims: list[int] | None = None  # DoF the policy controls (indices into the 7-D action); None: all
    state_keys: list[str] | None = None  # flat observation keys the learner uses as state; None: all
    kwargs: dict = field(default_factory=dict)  # extra env constructor keywords (any gymnasium env)
    # Domain randomization of the MuJoCo tasks (the `dr` config group; sim/randomization.py). Off if empty.
    randomization: dict = field(default_factory=dict)

    def env_kwargs(self) -> dict:
        """Keyword arguments of the env constructor: the interface's settings for robot_rl envs only."""
        if not self.env_id.startswith("robot_rl/"):
            return dict(self.kwargs)
        return {
            **self.kwargs,
            "control_hz": self.control_hz,
            "physics_dt": self.physics_dt,
            "action_scale": tuple(self.action_scale),
            "reward_type": self.reward_type,
            "terminate_on_success": self.terminate_on_success,
            "images": self.images,
            "cameras": tuple(self.cameras),
            "image_size": self.image_size,
            **({"randomization": dict(self.randomization)} if self.randomization.get("enabled") else {}),
        }


def load_config(name: str, overrides: list[str]) -> DictConfig:
    """Compose ``configs/<name>.yaml`` with command-line ``key=value`` overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    try:
        with initialize_config_dir(config_dir=str(configs_dir()), version_base="1.3"):
            return compose(config_name=name, overrides=overrides)
    except HydraException as err:
        raise ConfigError(f"bad configuration for '{name}': {err}") from None


def to_dataclass(schema: type, node: DictConfig, where: str):
    """Validate ``node`` against a dataclass ``schema`` and return the dataclass instance."""
    try:
        if isinstance(node, DictConfig):  # interpolations resolve against the whole config (${robot.x})
            node = OmegaConf.to_container(node, resolve=True)
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        cause = err.__cause__ if isinstance(err.__cause__, ValueError) else None
        if cause is not None:  # a dataclass __post_init__ check
            raise ConfigError(f"bad {where} config: {cause}") from None
        valid = ", ".join(schema.__dataclass_fields__)
        raise ConfigError(f"bad {where} config: {err.msg}. Valid keys: {valid}") from None
    except ValueError as err:
        raise ConfigError(f"bad {where} config: {err}") from None


def task_config(node: DictConfig) -> TaskConfig:
    cfg = to_dataclass(TaskConfig, node, "task")
    if cfg.reward_type not in ("sparse", "dense"):
        raise ConfigError(f"task.reward_type={cfg.reward_type!r} is not one of ['sparse', 'dense']")
    return cfg


def task_on_target(trained: DictConfig | TaskConfig, overrides: DictConfig | dict | None) -> TaskConfig:
    """A trained policy's task with the command line's ``task.*`` overrides (eval, deploy). A randomization
    given there (``dr=<preset>``, ``task.randomization.*``) describes the target env whole: it replaces
    the run's own, and the fields it leaves out are nominal. Merging it into a randomized run's ranges
    would evaluate ``dr=shifted`` with the training randomization still drawing everything else."""
    task = OmegaConf.structured(trained) if isinstance(trained, TaskConfig) else trained.copy()
    overrides = overrides or {}
    if overrides.get("randomization"):
        # fields without `enabled` (task.randomization.<field>=... alone) ask for randomization: on
        task.randomization = {"enabled": True}
    return task_config(OmegaConf.merge(task, overrides))

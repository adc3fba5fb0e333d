"""A trained policy without the training code's state: export it, load it, check it against a robot.

An export folder (``robot-rl export``) holds::

    policy.safetensors   the actor and the encoder it reads (``PolicyWeights.policy_state``); no critic
                         targets, no optimiser state, no replay
    policy.json          what the policy reads and emits: the observation entries in the learner's order
                         (flat key, shape, dtype), the cameras, the action (dimension, the DoF of the 7-D
                         interface it drives, ``action_scale``, ``control_hz``), the normalisation inside
                         the network, the agent and task configs, and the checkpoint it came from
    base_policy/         residual RL only: a copy of the frozen base (a ``robot-rl train-bc`` folder), so
                         the export runs where the training run's files are not

``load_policy`` reads an export folder or, just as well, a training checkpoint folder (its
``agent.safetensors`` minus everything but the policy). ``check_robot`` compares what a policy expects
with what an env offers and names every key that differs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import OmegaConf
from safetensors.torch import load_file, save_file

from robot_rl.agents import Agent, agent_config, make_agent
from robot_rl.config import TaskConfig, task_config
from robot_rl.errors import CheckpointError, ConfigError
from robot_rl.obs import ObsSpec, flat_spaces, is_image

FORMAT = "robot_rl.policy/1"
BASE_FOLDER = "base_policy"  # in an export of a residual policy: its BC base
BC_FILES = ("policy.json", "policy.safetensors")  # what BCPolicy loads (not the demos beside them)


class SpecMismatch(ConfigError):
    """The policy's observation/action spec differs from the robot's."""


def policy_io(spec: ObsSpec, action_dim: int) -> dict[str, Any]:
    """What the learner reads (flat key -> shape, dtype, in its order) and the action dimension."""
    return {
        "observation": {
            key: {"shape": list(spec.spaces[key].shape), "dtype": str(spec.spaces[key].dtype)}
            for key in spec.state_keys + spec.image_keys
        },
        "state_keys": list(spec.state_keys),
        "image_keys": list(spec.image_keys),
        "action_dim": int(action_dim),
    }


def normalisation(agent_cfg: Any, task: TaskConfig) -> dict[str, Any]:
    """The transforms between robot units and network inputs/outputs, written out for a reader."""
    return {
        "state": "symlog: sign(x) * log(1 + |x|)" if getattr(agent_cfg, "symlog_inputs", False) else "none",
        "images": "uint8 / 255 (DrQ shift augmentation only in training)",
        "action": {
            "range": [-1.0, 1.0],
            "action_dims": task.action_dims,  # entries of the 7-D [dx dy dz drx dry drz gripper] interface
            "action_scale": list(task.action_scale),  # metres, radians per unit action per control step
            "control_hz": task.control_hz,
        },
    }


@dataclass
class LoadedPolicy:
    """A deterministic policy with what it expects: ``policy(flat_obs) -> action``."""

    agent: Agent
    spec: ObsSpec
    io: dict[str, Any]
    task: TaskConfig
    config: dict[str, Any]  # the training run's resolved config (task, agent, safety ...)
    source: str

    def __call__(self, flat_obs: dict[str, np.ndarray]) -> np.ndarray:
        return self.agent.act(flat_obs, deterministic=True)


def _spec_from_io(io: dict[str, Any]) -> ObsSpec:
    spaces = {}
    for key, entry in io["observation"].items():
        dtype = np.dtype(entry["dtype"])
        low, high = (0, 255) if dtype == np.uint8 else (-np.inf, np.inf)
        spaces[key] = gym.spaces.Box(low, high, tuple(entry["shape"]), dtype)
    cameras = [k.rsplit(".", 1)[-1] for k in io["image_keys"]]
    return ObsSpec.from_space(gym.spaces.Dict(spaces), io["state_keys"], cameras)


def read_io(folder: str | Path) -> dict[str, Any]:
    """The ``policy_io`` of an export folder or a checkpoint folder, without loading any weights."""
    folder = Path(folder)
    if (folder / "policy.json").is_file():
        return json.loads((folder / "policy.json").read_text())["io"]
    if not (folder / "state.json").is_file():
        raise CheckpointError(
            f"{folder} has no state.json or policy.json: pass a checkpoint folder of robot-rl train "
            "(<run>/checkpoints/<name>) or an export folder of robot-rl export"
        )
    state = json.loads((folder / "state.json").read_text())
    if "policy_io" not in state:
        raise CheckpointError(
            f"{folder}/state.json has no policy_io (a checkpoint from before export existed)"
        )
    return state["policy_io"]


def read_config(folder: str | Path) -> dict[str, Any]:
    """The resolved training config (task, agent, ...) of an export folder or a checkpoint folder."""
    folder = Path(folder)
    if (folder / "policy.json").is_file():
        return json.loads((folder / "policy.json").read_text())["config"]
    return OmegaConf.to_container(OmegaConf.load(folder / "config.yaml"), resolve=True)


def _read_checkpoint(folder: Path) -> tuple[dict, dict, dict]:
    """(resolved config, policy io, all agent tensors) of a training checkpoint folder."""
    for name in ("config.yaml", "state.json", "agent.safetensors"):
        if not (folder / name).is_file():
            raise CheckpointError(
                f"{folder} has no {name}: pass a checkpoint folder of robot-rl train "
                "(<run>/checkpoints/<name>) or an export folder of robot-rl export"
            )
    return read_config(folder), read_io(folder), load_file(folder / "agent.safetensors")


def load_policy(folder: str | Path) -> LoadedPolicy:
    """An export folder (policy.json) or a checkpoint folder, as a deterministic policy on the CPU."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder} does not exist; pass checkpoint=<export or checkpoint folder>")
    if (folder / "policy.json").is_file():
        manifest = json.loads((folder / "policy.json").read_text())
        if manifest.get("format") != FORMAT:
            raise CheckpointError(
                f"{folder}/policy.json is not a {FORMAT} export (format {manifest.get('format')})"
            )
        config, io, weights = manifest["config"], manifest["io"], load_file(folder / "policy.safetensors")
        if config["agent"].get("base_policy") == BASE_FOLDER:
            config["agent"]["base_policy"] = str(folder / BASE_FOLDER)
    else:
        config, io, weights = _read_checkpoint(folder)
    spec = _spec_from_io(io)
    agent_cfg = agent_config(OmegaConf.create(config["agent"]))
    agent = make_agent(spec, io["action_dim"], agent_cfg)
    agent.load_policy_state({k: v for k, v in weights.items() if k.startswith(agent.POLICY_PREFIXES)})
    agent.eval()
    task = task_config(OmegaConf.create(config["task"]))
    return LoadedPolicy(agent, spec, io, task, config, str(folder))


def export_policy(checkpoint: str | Path, out: str | Path) -> Path:
    """Write ``out/policy.safetensors`` and ``out/policy.json`` from a training checkpoint folder."""
    checkpoint, out = Path(checkpoint), Path(out)
    policy = load_policy(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    save_file(policy.agent.policy_state(), out / "policy.safetensors")
    state = json.loads((checkpoint / "state.json").read_text())
    manifest = {
        "format": FORMAT,
        "io": policy.io,
        "normalisation": normalisation(policy.agent.cfg, policy.task),
        "config": _bundle_base_policy(policy.config, out),
        "source": {"checkpoint": str(checkpoint.resolve()), "env_steps": state.get("env_steps")},
    }
    (out / "policy.json").write_text(json.dumps(manifest, indent=1))
    return out


def io_differences(expected: dict[str, Any], offered: dict[str, tuple], action_dim: int) -> list[str]:
    """What differs between a policy's ``policy_io`` and an observation (flat key -> shape) and action."""
    problems = []
    for key, entry in expected["observation"].items():
        if key not in offered:
            problems.append(f"{key} {tuple(entry['shape'])} is missing")
        elif list(offered[key]) != entry["shape"]:
            problems.append(f"{key} is {tuple(offered[key])} here, {tuple(entry['shape'])} in training")
    if action_dim != expected["action_dim"]:
        problems.append(f"action is {action_dim}-D here, {expected['action_dim']}-D in training")
    return problems


def check_robot(policy: LoadedPolicy, env: gym.Env) -> None:
    """Raise ``SpecMismatch`` naming every observation key and the action that differ between what the
    policy was trained on and what ``env`` (the robot, behind the deploy wrappers) provides."""
    offered = flat_spaces(env.observation_space)
    shapes = {k: box.shape for k, box in offered.items()}
    problems = io_differences(policy.io, shapes, int(np.prod(env.action_space.shape)))
    if problems:
        extra = sorted(
            k for k, box in offered.items() if k not in policy.io["observation"] and not is_image(box)
        )
        raise SpecMismatch(
            f"policy {policy.source} does not fit this robot: " + "; ".join(problems)
            + f". The robot offers {extra or 'no other state keys'} besides. Deploy a policy trained on this "
            "robot's observations (task.state_keys / task.cameras / task.action_dims), or retrain."
        )  # fmt: skip


def _bundle_base_policy(config: dict[str, Any], out: Path) -> dict[str, Any]:
    """A residual policy acts on top of its base: copy a BC base into the export and point the config at
    the copy (``expert:<name>`` bases are code, nothing to copy)."""
    base = config["agent"].get("base_policy")
    if not base or str(base).startswith("expert:"):
        return config
    if not all((Path(base) / name).is_file() for name in BC_FILES):
        raise CheckpointError(
            f"the residual policy's base {base} (agent.base_policy of its run) is not a BC folder here; "
            "export from where the run's robot-rl train-bc folder is, or restore it there"
        )
    (out / BASE_FOLDER).mkdir(exist_ok=True)
    for name in BC_FILES:
        shutil.copy2(Path(base) / name, out / BASE_FOLDER / name)
    return {**config, "agent": {**config["agent"], "base_policy": BASE_FOLDER}}

"""Checkpoints without pickle: safetensors for weights and optimiser tensors, .npz for replay, JSON/YAML.

A checkpoint folder holds::

    agent.safetensors      every parameter and buffer of the agent (actor, critics, targets, log_alpha)
    optim.safetensors      optimiser state tensors; their non-tensor settings in the file's metadata
    replay_<name>.npz      replay buffers (loaded with allow_pickle=False)
    state.json             step counters, RNG states, evaluation history
    config.yaml            the resolved config of the run

Loading raises ``CheckpointError`` naming the missing or mismatching piece; it never falls back to a
fresh start (LeRobot's ``load_training_state`` swallowing errors is the bug this avoids).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from robot_rl.errors import CheckpointError

log = logging.getLogger(__name__)


def _flatten_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for name, opt in optimizers.items():
        state = opt.state_dict()
        meta[name] = {"param_groups": state["param_groups"], "scalars": {}}
        for pid, pstate in state["state"].items():
            for key, value in pstate.items():
                if torch.is_tensor(value):
                    tensors[f"{name}/{pid}/{key}"] = value.contiguous()
                else:
                    meta[name]["scalars"][f"{pid}/{key}"] = value
    return tensors, meta


def _unflatten_optimizer(name: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        opt_name, pid, field = key.split("/", 2)
        if opt_name == name:
            state.setdefault(int(pid), {})[field] = value
    for key, value in meta[name]["scalars"].items():
        pid, field = key.split("/", 1)
        state.setdefault(int(pid), {})[field] = value
    return {"state": state, "param_groups": meta[name]["param_groups"]}


def save_checkpoint(
    path: str | Path,
    agent: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    buffers: dict[str, Any],
    state: dict[str, Any],
    config_yaml: str,
) -> Path:
    """Write a checkpoint folder so that a kill at any moment leaves a whole one: the files go to
    ``path.tmp``, which replaces ``path`` by renames; the one moment without ``path`` has ``path.old``."""
    path = Path(path)
    tmp, old = (path.with_name(path.name + suffix) for suffix in (".tmp", ".old"))
    _remove_folder(tmp)  # what a killed save left
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous() for k, v in agent.state_dict().items()}, tmp / "agent.safetensors")
    tensors, meta = _flatten_optimizers(optimizers)
    save_file(tensors, tmp / "optim.safetensors", metadata={"optimizers": json.dumps(meta)})
    for name, buffer in buffers.items():
        np.savez(tmp / f"replay_{name}.npz", **buffer.state_dict())
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    (tmp / "config.yaml").write_text(config_yaml)
    if path.exists():
        _remove_folder(old)
        path.rename(old)
    tmp.rename(path)
    _remove_folder(old)
    log.info("checkpoint saved: %s", path)
    return path


def _remove_folder(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)


def _require(path: Path, name: str) -> Path:
    file = path / name
    if not file.is_file():
        raise CheckpointError(f"checkpoint {path} has no {name}; it is incomplete or not a checkpoint folder")
    return file


def read_replay(path: Path, name: str) -> dict[str, np.ndarray]:
    """The saved state of replay buffer ``name`` (``replay_<name>.npz``) in checkpoint folder ``path``."""
    with np.load(_require(path, f"replay_{name}.npz"), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def load_checkpoint(
    path: str | Path,
    agent: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    buffers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Restore ``agent`` (and optimisers/buffers when given) in place; return ``state.json``'s content."""
    path = Path(path)
    if not path.is_dir():
        previous, newer = (path.with_name(path.name + suffix) for suffix in (".old", ".tmp"))
        hint = "pass checkpoint=<run>/checkpoints/<name>"
        if previous.is_dir():
            hint = f"a save was killed while replacing it: {previous} holds the one before; rename it"
            if (newer / "config.yaml").is_file():  # written last: the new one is whole too
                hint += f" (or {newer}, the whole new one)"
        raise CheckpointError(f"checkpoint folder {path} does not exist; {hint}")
    try:
        weights = load_file(_require(path, "agent.safetensors"))
        missing, unexpected = agent.load_state_dict(weights, strict=False)
        if missing or unexpected:
            raise CheckpointError(
                f"{path}/agent.safetensors does not match this agent (missing {missing[:5]}, unexpected "
                f"{unexpected[:5]}); was it trained with a different agent/task config?"
            )
        if optimizers:
            optim_file = _require(path, "optim.safetensors")
            tensors = load_file(optim_file)
            from safetensors import safe_open

            with safe_open(str(optim_file), "pt") as f:
                meta = json.loads(f.metadata()["optimizers"])
            for name, opt in optimizers.items():
                opt.load_state_dict(_unflatten_optimizer(name, tensors, meta))
        if buffers:
            for name, buffer in buffers.items():
                buffer.load_state_dict(read_replay(path, name))
        return json.loads(_require(path, "state.json").read_text())
    except (SafetensorError, ValueError, KeyError, RuntimeError, OSError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {path} is corrupt or incompatible: {err}") from err

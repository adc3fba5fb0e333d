"""Warm-start fine-tuning (WSRL, Zhou et al. 2024): what the trainer takes from a source run.

``warm_start`` loads the source's agent into a fresh one after checking that both read the same
observation: a checkpoint folder brings everything the agent holds (actor, critics, targets,
temperature; no optimiser state), an export folder the policy only (the critic starts fresh).
``source_replay`` is the source's online replay, for ``train.retain_source_data``. The schedule itself
(critic-only updates for ``train.warm_start_steps``) lives in ``Trainer.after_env_step``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omegaconf import OmegaConf
from safetensors.torch import load_file

from robot_rl.agents import Agent, agent_config
from robot_rl.buffers import ReplayBuffer
from robot_rl.checkpoint import load_checkpoint, read_replay
from robot_rl.errors import ConfigError
from robot_rl.obs import ObsSpec
from robot_rl.policy_export import SpecMismatch, io_differences, read_config, read_io


def warm_start(agent: Agent, spec: ObsSpec, action_dim: int, source: str | Path) -> None:
    source = Path(source)
    io = read_io(source)
    problems = io_differences(io, {k: spec.spaces[k].shape for k in spec.spaces}, action_dim)
    if problems or list(io["observation"]) != spec.state_keys + spec.image_keys:
        raise SpecMismatch(
            f"train.init_from={source} was trained on other observations: "
            f"{'; '.join(problems) or 'the keys in another order'}."
            " Fine-tune with the source run's task.state_keys / task.cameras / task.action_dims."
        )
    ours = bool(getattr(agent.cfg, "symlog_inputs", False))
    source_agent = agent_config(OmegaConf.create(read_config(source)["agent"]))  # its type's defaults too
    theirs = bool(getattr(source_agent, "symlog_inputs", False))
    if ours != theirs:  # a transform without weights: loading would feed the networks other inputs
        raise SpecMismatch(
            f"train.init_from={source} squashed its state with symlog_inputs={theirs}, this agent with "
            f"{ours}; pass agent.symlog_inputs={str(theirs).lower()}"
        )
    if (source / "policy.json").is_file():
        agent.load_policy_state(load_file(source / "policy.safetensors"))
    else:
        load_checkpoint(source, agent)


def source_replay(checkpoint: Path, make_buffer: Callable[[int], ReplayBuffer]) -> ReplayBuffer:
    """A warm start's retained data: the source checkpoint's online replay, as the offline buffer."""
    if not (checkpoint / "replay_online.npz").is_file():
        raise ConfigError(
            f"train.retain_source_data: {checkpoint} has no replay_online.npz (an export has none)"
        )
    state = read_replay(checkpoint, "online")
    buffer = make_buffer(len(state["valid"]))
    buffer.load_state_dict(state)
    return buffer

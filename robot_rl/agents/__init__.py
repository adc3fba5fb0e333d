"""Learners: SAC/RLPD (``sac.py``), residual RL on a frozen base policy (``residual.py``), BC (``bc.py``).

``agent_config`` reads the Hydra ``agent`` group into the right dataclass (``name: residual`` or SAC),
``make_agent`` builds the agent; both loops and both nodes use only these two.
"""

from __future__ import annotations

from typing import Any

from robot_rl.agents.residual import ResidualAgent, ResidualConfig
from robot_rl.agents.sac import SACAgent, SACConfig
from robot_rl.obs import ObsSpec

AgentConfig = SACConfig | ResidualConfig
Agent = SACAgent | ResidualAgent


def agent_config(node: Any) -> AgentConfig:
    from omegaconf import DictConfig, OmegaConf

    from robot_rl.config import to_dataclass

    if node is not None and node.get("name") == "residual":
        scale = node.get("residual_scale")
        if isinstance(scale, int | float):  # agent.residual_scale=0.3: the same bound for every dimension
            if isinstance(node, DictConfig):
                node = OmegaConf.to_container(node, resolve=True)
            node = {**node, "residual_scale": [scale]}
        return to_dataclass(ResidualConfig, node, "agent")
    return to_dataclass(SACConfig, node, "agent")


def make_agent(spec: ObsSpec, action_dim: int, cfg: AgentConfig, seed: int = 0) -> Agent:
    if isinstance(cfg, ResidualConfig):
        return ResidualAgent(spec, action_dim, cfg, seed=seed)
    return SACAgent(spec, action_dim, cfg, seed=seed)

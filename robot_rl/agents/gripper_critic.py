"""HIL-SERL's discrete gripper critic: a DQN over {open, stay, close} beside SAC's continuous critic.

The policy's gripper channel then carries a discrete command: -1 open, 0 stay (keep the last
command; ``robot_rl.envs.wrappers.GripperStay`` implements it in the env), +1 close. The critic is
trained with a double-DQN target on the same n-step rewards and discounts as SAC's critic, from the
encoder's (detached) features; actions are picked greedily, or epsilon-greedily while exploring.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from robot_rl import losses
from robot_rl.networks import mlp

COMMANDS = torch.tensor([-1.0, 0.0, 1.0])  # index -> gripper command: open, stay, close


def command_to_index(command: torch.Tensor) -> torch.Tensor:
    """Stored gripper commands (B,) -> discrete indices (B,); any positive value means close."""
    return (torch.sign(torch.round(command)) + 1).long()


class GripperCritic(nn.Module):
    """Q(features) -> (B, 3), with a Polyak-averaged target copy and its own optimiser."""

    def __init__(self, in_dim: int, hidden: list[int], lr: float, tau: float, epsilon: float) -> None:
        super().__init__()
        self.q = mlp(in_dim, hidden, len(COMMANDS), layer_norm=True)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=lr)
        self.tau, self.epsilon = tau, epsilon

    @torch.no_grad()
    def command(
        self, features: torch.Tensor, deterministic: bool, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Gripper commands (B,) in {-1, 0, +1}: greedy, or epsilon-greedy when exploring."""
        index = self.q(features).argmax(dim=-1)
        if not deterministic and self.epsilon > 0:
            explore = torch.rand(index.shape, generator=generator) < self.epsilon
            random = torch.randint(0, len(COMMANDS), index.shape, generator=generator)
            index = torch.where(explore, random, index)
        return COMMANDS[index]

    def update(
        self,
        features: torch.Tensor,
        commands: torch.Tensor,
        rewards: torch.Tensor,
        discounts: torch.Tensor,
        next_features: torch.Tensor,
    ) -> dict[str, float]:
        """One double-DQN step on detached features. ``commands`` are the executed gripper commands."""
        with torch.no_grad():
            target = losses.double_dqn_target(
                rewards, discounts, self.q(next_features), self.target(next_features)
            )
        q = self.q(features).gather(1, command_to_index(commands).unsqueeze(1)).squeeze(1)
        loss = ((q - target) ** 2).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        losses.polyak_update(self.target, self.q, self.tau)
        return {"train/gripper_critic_loss": loss.item(), "train/gripper_q_mean": q.mean().item()}

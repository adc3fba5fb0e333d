"""What an actor process needs from a learner: the weights under ``POLICY_PREFIXES`` (the policy and
the encoder it reads), shipped as safetensors by the transport."""

from __future__ import annotations

import torch
from torch import nn


class PolicyWeights(nn.Module):
    POLICY_PREFIXES: tuple[str, ...] = ()

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {
            k: v.detach().contiguous()
            for k, v in self.state_dict().items()
            if k.startswith(self.POLICY_PREFIXES)
        }

    def load_policy_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load ``policy_state()`` output; a key mismatch is an error (a different agent config)."""
        expected = {k for k in self.state_dict() if k.startswith(self.POLICY_PREFIXES)}
        if set(state) != expected:
            raise ValueError(f"policy weights do not match this agent: {sorted(set(state) ^ expected)[:5]}")
        self.load_state_dict(state, strict=False)

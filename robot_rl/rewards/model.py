"""The success classifier network: one small CNN per camera, optional proprioception, a logit head."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from robot_rl.networks import ImageEncoder, mlp
from robot_rl.rewards.preprocess import InputSpec, ModelInput


@dataclass
class ModelConfig:
    feature_dim: int = 50  # image features per camera (DrQ encoder output)
    channels: int = 32  # conv channels of each camera's encoder
    hidden_dims: list[int] = field(default_factory=lambda: [256])  # head MLP (LayerNorm, ReLU)

    def __post_init__(self) -> None:
        if self.feature_dim < 1 or self.channels < 1:
            raise ValueError(f"feature_dim={self.feature_dim} and channels={self.channels} must be >= 1")


class SuccessClassifier(nn.Module):
    """``ModelInput`` (B frames) -> (B,) success logits.

    Each camera has its own ``ImageEncoder`` (the project's DrQ CNN): wrist and front views differ too
    much to share filters cheaply. Features of all cameras and the normalised state feed an MLP.
    """

    def __init__(self, spec: InputSpec, cfg: ModelConfig) -> None:
        super().__init__()
        self.cameras = list(spec.cameras)
        self.encoders = nn.ModuleDict(
            {c: ImageEncoder([c], spec.image_size, cfg.feature_dim, cfg.channels) for c in self.cameras}
        )
        in_dim = cfg.feature_dim * len(self.cameras) + spec.state_dim
        self.head = mlp(in_dim, list(cfg.hidden_dims), 1, layer_norm=True)

    def forward(self, x: ModelInput) -> torch.Tensor:
        features = [self.encoders[c]({c: x.images[c]}) for c in self.cameras]
        return self.head(torch.cat([*features, x.state], dim=-1)).squeeze(-1)

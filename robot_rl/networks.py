"""Network building blocks: ensemble layers (one batched matmul for all critics), MLPs, the image encoder."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class EnsembleLinear(nn.Module):
    """``E`` independent linear layers applied as one batched matmul: (E, B, in) -> (E, B, out)."""

    def __init__(self, ensemble: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default init, per member
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the feature dim with a separate affine per ensemble member."""

    def __init__(self, ensemble: int, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias, nn.functional.layer_norm(x, x.shape[-1:]), self.weight)


def ensemble_mlp(
    ensemble: int, in_dim: int, hidden: list[int], out_dim: int, layer_norm: bool
) -> nn.Sequential:
    """(E, B, in_dim) -> (E, B, out_dim); LayerNorm after every hidden layer (RLPD, Ball et al. 2023)."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers.append(EnsembleLinear(ensemble, in_dim, h))
        if layer_norm:
            layers.append(EnsembleLayerNorm(ensemble, h))
        layers.append(nn.ReLU())
        in_dim = h
    layers.append(EnsembleLinear(ensemble, in_dim, out_dim))
    return nn.Sequential(*layers)


def mlp(in_dim: int, hidden: list[int], out_dim: int, layer_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers.append(nn.Linear(in_dim, h))
        if layer_norm:
            layers.append(nn.LayerNorm(h))
        layers.append(nn.ReLU())
        in_dim = h
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class ImageEncoder(nn.Module):
    """DrQ's small CNN for one or more uint8 cameras -> a ``feature_dim`` vector (tanh of a LayerNorm).

    Input: dict camera -> (B, H, W, 3) uint8 (or float in [0, 255]); cameras are stacked on channels.
    """

    def __init__(
        self, cameras: list[str], image_size: int, feature_dim: int = 50, channels: int = 32
    ) -> None:
        super().__init__()
        self.cameras = list(cameras)
        self.convs = nn.Sequential(
            nn.Conv2d(3 * len(self.cameras), channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
        )
        with torch.no_grad():
            n_flat = self.convs(torch.zeros(1, 3 * len(self.cameras), image_size, image_size)).numel()
        self.head = nn.Sequential(nn.Linear(n_flat, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())

    def forward(self, images: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat([images[c] for c in self.cameras], dim=-1).permute(0, 3, 1, 2).float() / 255.0 - 0.5
        return self.head(self.convs(x).flatten(1))


def random_shift(
    images: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """DrQ augmentation: replicate-pad by ``pad`` px and crop back at a random offset per sample.

    (B, H, W, C) uint8 or float -> same shape and dtype; two integer gathers, so crops are exact.
    """
    b, h, w, c = images.shape
    padded = nn.functional.pad(images.permute(0, 3, 1, 2).float(), (pad, pad, pad, pad), mode="replicate")
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(images.device)
    rows = (dy[:, None] + torch.arange(h, device=images.device)).view(b, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w, device=images.device)).view(b, 1, 1, w)
    out = padded.gather(2, rows.expand(b, c, h, padded.shape[3])).gather(3, cols.expand(b, c, h, w))
    return out.permute(0, 2, 3, 1).to(images.dtype)


@contextmanager
def no_param_grads(module: nn.Module) -> Iterator[None]:
    """Gradients flow through ``module`` to its inputs but not into its parameters; afterwards each
    parameter trains again only if it did before (a frozen encoder stays frozen)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in trainable:
            p.requires_grad_(True)

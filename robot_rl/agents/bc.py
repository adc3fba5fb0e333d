"""Behaviour cloning: an MLP from state to action, or to a chunk of the next ``chunk`` actions.

Trained on HDF5 demos (robomimic layout) by ``robot-rl train-bc``; the result is a folder with
``policy.safetensors`` and ``policy.json`` (state keys, normalisation, sizes). ``BCPolicy`` loads it and
is a callable ``policy(flat_obs) -> action`` that can serve as the base of residual RL (or a safety
backup). A chunked policy predicts ``chunk`` future actions and executes the first (receding horizon).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robot_rl.data.episodes import DatasetError, Episode
from robot_rl.errors import CheckpointError

#: Smallest state std BC divides by: a feature nearly constant in the demos (a fixed hole height, a held
#: orientation) would otherwise blow sensor noise up to thousands of standard deviations at run time.
STD_FLOOR = 1e-2


@dataclass
class BCConfig:
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])
    chunk: int = 1  # actions predicted per step (action chunking); the first one is executed
    epochs: int = 300
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


class BCNet(nn.Module):
    def __init__(self, state_dim: int, action_dim: int, chunk: int, hidden: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = state_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.LayerNorm(width), nn.ReLU()]
            last = width
        layers.append(nn.Linear(last, action_dim * chunk))
        self.net = nn.Sequential(*layers)
        self.action_dim, self.chunk = action_dim, chunk

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """(B, state_dim) -> (B, chunk, action_dim) in [-1, 1]."""
        return torch.tanh(self.net(state)).view(-1, self.chunk, self.action_dim)


def chunk_targets(actions: np.ndarray, chunk: int) -> np.ndarray:
    """(T, A) -> (T, chunk, A): the next ``chunk`` actions from each step (last one repeated)."""
    idx = np.minimum(np.arange(len(actions))[:, None] + np.arange(chunk)[None], len(actions) - 1)
    return actions[idx]


def bc_dataset(
    episodes: list[Episode], state_keys: list[str], action_dims: list[int] | None, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """States (N, D) and chunked action targets (N, chunk, A) from demo episodes."""
    missing = [k for k in state_keys if k not in episodes[0].obs]
    if missing:
        raise DatasetError(f"demos lack observation keys {missing} (they have {sorted(episodes[0].obs)})")
    states, targets = [], []
    for ep in episodes:
        actions = np.asarray(ep.actions, dtype=np.float32)
        if action_dims is not None and actions.shape[1] != len(action_dims):
            actions = actions[:, list(action_dims)]
        steps = len(actions)
        states.append(
            np.concatenate([np.asarray(ep.obs[k][:steps]).reshape(steps, -1) for k in state_keys], 1)
        )
        targets.append(chunk_targets(actions, chunk))
    return np.concatenate(states).astype(np.float32), np.concatenate(targets).astype(np.float32)


def train_bc(
    states: np.ndarray, targets: np.ndarray, cfg: BCConfig, progress=None
) -> tuple[BCNet, np.ndarray, np.ndarray, list[float]]:
    """Fit ``BCNet`` by MSE; returns the net, the state mean and std it normalises with, and the losses."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mean, std = states.mean(0), np.maximum(states.std(0), STD_FLOOR)
    x = torch.as_tensor((states - mean) / std)
    y = torch.as_tensor(targets)
    net = BCNet(states.shape[1], targets.shape[2], cfg.chunk, cfg.hidden_dims)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    losses = []
    for _ in range(cfg.epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), cfg.batch_size):
            idx = torch.as_tensor(order[start : start + cfg.batch_size])
            loss = nn.functional.mse_loss(net(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
        if progress is not None:
            progress(losses[-1])
    return net.eval(), mean, std, losses


def save_bc(folder: str | Path, net: BCNet, mean: np.ndarray, std: np.ndarray, state_keys: list[str],
            action_dims: list[int] | None, cfg: BCConfig, extra: dict | None = None) -> Path:  # fmt: skip
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / "policy.safetensors"))
    meta = {
        "state_keys": state_keys, "action_dims": action_dims, "action_dim": net.action_dim,
        "state_dim": int(mean.shape[0]), "mean": mean.tolist(), "std": std.tolist(), "config": asdict(cfg),
        **(extra or {}),
    }  # fmt: skip
    (folder / "policy.json").write_text(json.dumps(meta, indent=1))
    return folder


class BCPolicy:
    """A trained BC policy: ``policy(flat_obs) -> action`` (numpy, in the task's action space)."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        meta_path, weights = folder / "policy.json", folder / "policy.safetensors"
        if not meta_path.is_file() or not weights.is_file():
            raise CheckpointError(
                f"{folder} is not a BC policy (needs policy.json and policy.safetensors); "
                "train one with `robot-rl train-bc`"
            )
        meta = json.loads(meta_path.read_text())
        cfg = BCConfig(**meta["config"])
        self.state_keys, self.action_dims = list(meta["state_keys"]), meta["action_dims"]
        self.mean, self.std = np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32)
        self.net = BCNet(meta["state_dim"], meta["action_dim"], cfg.chunk, cfg.hidden_dims)
        self.net.load_state_dict(load_file(str(weights)))
        self.net.eval()
        self.meta = meta

    @torch.no_grad()
    def __call__(self, flat_obs: dict[str, np.ndarray]) -> np.ndarray:
        missing = [k for k in self.state_keys if k not in flat_obs]
        if missing:
            raise KeyError(f"BC policy needs observation keys {missing}; the env gives {sorted(flat_obs)}")
        state = np.concatenate([np.ravel(flat_obs[k]) for k in self.state_keys]).astype(np.float32)
        x = torch.as_tensor((state - self.mean) / self.std)[None]
        return self.net(x)[0, 0].numpy()

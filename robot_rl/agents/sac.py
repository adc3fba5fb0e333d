"""SAC with the RLPD/REDQ recipe (Ball et al. 2023; Chen et al. 2021), DrQ for images.

- critic ensemble of ``num_critics`` evaluated as ONE batched computation (``EnsembleLinear``), LayerNorm,
  targets from the min over a random subset of ``num_min_critics`` target critics;
- n-step returns (the buffer sums them), terminated vs truncated handled by the buffer's discounts;
- auto-tuned temperature, optional entropy term in the backup, actor updated every ``actor_delay``
  critic updates, optional gradient clipping;
- images: DrQ random shift, a small CNN trained by the critic only (the actor sees detached features).

The collection loop lives in ``robot_rl/loop.py``; this file is config -> networks -> ``update()``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robot_rl import losses
from robot_rl.agents.gripper_critic import GripperCritic
from robot_rl.agents.policy_weights import PolicyWeights
from robot_rl.buffers import Batch
from robot_rl.networks import ImageEncoder, ensemble_mlp, mlp, no_param_grads, random_shift
from robot_rl.obs import ObsSpec

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@dataclass
class SACConfig:
    gamma: float = 0.99  # discount per control step
    tau: float = 0.005  # Polyak rate of the target critics
    num_critics: int = 4  # ensemble size (RLPD: 10)
    num_min_critics: int = 2  # REDQ: target = min over this many random members
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])  # MLP widths (actor and critics)
    critic_layer_norm: bool = True  # RLPD's LayerNorm in the critics
    actor_layer_norm: bool = False  # LayerNorm in the actor MLP
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    temperature_lr: float = 3e-4
    init_temperature: float = 0.01  # initial alpha
    target_entropy_per_dim: float = -0.5  # target entropy = this * action_dim (RLPD: -0.5)
    backup_entropy: bool = False  # include -alpha * log pi' in the TD target
    actor_delay: int = 1  # critic updates per actor/temperature update
    grad_clip_norm: float | None = None  # clip each network's gradient norm (None: off)
    image_feature_dim: int = 50  # CNN output size
    augment_pad: int = 4  # DrQ random-shift padding [px]; 0 disables augmentation
    symlog_inputs: bool = False  # squash the state sign(x) log(1+|x|) (states mixing metres and newtons)
    bc_weight: float = 0.0  # weight of a behaviour-cloning term on demo samples in the actor loss (0: off)
    bc_q_filter: bool = False  # the BC term only where Q(s, demo action) > Q(s, policy action) (Nair 2018)
    pretrained_encoder: str | None = None  # local safetensors file with ImageEncoder weights (no download)
    freeze_encoder: bool = False  # keep the (pretrained) image encoder fixed
    gripper_critic: bool = False  # HIL-SERL: the last action dim is a DQN's {open, stay, close} choice
    gripper_epsilon: float = 0.1  # exploration of the gripper critic while collecting

    def __post_init__(self) -> None:
        if not 1 <= self.num_min_critics <= self.num_critics:
            raise ValueError(
                f"num_min_critics={self.num_min_critics} must be in [1, num_critics={self.num_critics}]"
            )
        if self.actor_delay < 1:
            raise ValueError(f"actor_delay={self.actor_delay} must be >= 1")


class Encoder(nn.Module):
    """Flat observation dict -> feature vector: [CNN(images), state vector].

    ``symlog`` squashes the state as sign(x) * log(1 + |x|) (DreamerV3): positions in metres pass almost
    unchanged while forces in newtons shrink to a few units, so no part of the state swamps the rest.
    """

    def __init__(self, spec: ObsSpec, feature_dim: int, symlog: bool = False) -> None:
        super().__init__()
        self.spec, self.symlog = spec, symlog
        self.cnn = ImageEncoder(spec.image_keys, spec.image_size, feature_dim) if spec.image_keys else None
        self.out_dim = spec.state_dim + (feature_dim if self.cnn else 0)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [obs[k].flatten(1).float() for k in self.spec.state_keys]
        if self.symlog:
            parts = [torch.sign(p) * torch.log1p(p.abs()) for p in parts]
        if self.cnn is not None:
            parts.insert(0, self.cnn({k: obs[k] for k in self.spec.image_keys}))
        return torch.cat(parts, dim=-1)


def load_encoder_weights(encoder: Encoder, path: str) -> None:
    """Load ``ImageEncoder`` weights from a local safetensors file; mismatches are errors, not warnings."""
    from pathlib import Path

    from safetensors.torch import load_file

    if encoder.cnn is None:
        raise ValueError("agent.pretrained_encoder is set but the observation has no cameras")
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"agent.pretrained_encoder={path} does not exist; weights load only from local files"
        )
    weights = load_file(path)
    try:
        encoder.cnn.load_state_dict(weights)
    except RuntimeError as err:
        raise ValueError(
            f"{path} does not fit the image encoder (cameras, image_size, feature_dim): {err}"
        ) from None


class Actor(nn.Module):
    """Tanh-squashed Gaussian policy."""

    def __init__(self, in_dim: int, action_dim: int, hidden: list[int], layer_norm: bool) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, 2 * action_dim, layer_norm)

    def forward(
        self, features: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Action in [-1, 1] (B, A) and its log-probability (B,)."""
        mean, log_std = self.net(features).chunk(2, dim=-1)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(log_std) + 1.0)
        std = log_std.exp()
        noise = torch.zeros_like(mean) if deterministic else torch.randn(mean.shape, generator=generator)
        pre_tanh = mean + std * noise
        action = torch.tanh(pre_tanh)
        gauss = -0.5 * (noise**2 + 2 * log_std + np.log(2 * np.pi))
        # log|d tanh(u)/du| = 2 * (log 2 - u - softplus(-2u)), numerically stable (SAC appendix C).
        squash = 2.0 * (np.log(2.0) - pre_tanh - nn.functional.softplus(-2.0 * pre_tanh))
        return action, (gauss - squash).sum(dim=-1)


class Critic(nn.Module):
    """Encoder + ensemble of Q heads: (obs, action) -> (E, B)."""

    def __init__(self, spec: ObsSpec, action_dim: int, cfg: SACConfig) -> None:
        super().__init__()
        self.encoder = Encoder(spec, cfg.image_feature_dim, cfg.symlog_inputs)
        self.num_critics = cfg.num_critics
        self.q = ensemble_mlp(
            cfg.num_critics, self.encoder.out_dim + action_dim, cfg.hidden_dims, 1, cfg.critic_layer_norm
        )

    def forward_features(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([features, action], dim=-1).unsqueeze(0).expand(self.num_critics, -1, -1)
        return self.q(x).squeeze(-1)


class SACAgent(PolicyWeights):
    """SAC/RLPD learner. ``act()`` for the actor side, ``update()`` for the learner side."""

    def __init__(self, spec: ObsSpec, action_dim: int, cfg: SACConfig, seed: int = 0) -> None:
        super().__init__()
        self.cfg, self.spec, self.action_dim = cfg, spec, action_dim
        # With a gripper critic, SAC handles every dim but the last (the gripper), which the DQN picks.
        self.continuous_dim = action_dim - 1 if cfg.gripper_critic else action_dim
        self.critic = Critic(spec, self.continuous_dim, cfg)
        if cfg.pretrained_encoder:
            load_encoder_weights(self.critic.encoder, cfg.pretrained_encoder)
        if cfg.freeze_encoder:
            self.critic.encoder.requires_grad_(False)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        features = self.critic.encoder.out_dim
        self.actor = Actor(features, self.continuous_dim, cfg.hidden_dims, cfg.actor_layer_norm)
        self.gripper = (
            GripperCritic(features, cfg.hidden_dims, cfg.critic_lr, cfg.tau, cfg.gripper_epsilon)
            if cfg.gripper_critic
            else None
        )
        self.log_alpha = nn.Parameter(torch.tensor(float(np.log(cfg.init_temperature))))
        self.target_entropy = cfg.target_entropy_per_dim * self.continuous_dim
        trainable = [p for p in self.critic.parameters() if p.requires_grad]
        self.critic_opt = torch.optim.Adam(trainable, lr=cfg.critic_lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.temperature_opt = torch.optim.Adam([self.log_alpha], lr=cfg.temperature_lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.num_updates = 0

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"critic": self.critic_opt, "actor": self.actor_opt, "temperature": self.temperature_opt}
        if self.gripper is not None:
            optimizers["gripper"] = self.gripper.optimizer
        return optimizers

    # ------------------------------------------------------------------------------------------ acting
    POLICY_PREFIXES = ("actor.", "critic.encoder.", "gripper.q.")

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray], deterministic: bool = False) -> np.ndarray:
        """One action (A,) for one flat observation dict (no batch dim)."""
        batch = self.spec.batch_of_one(obs)
        features = self.critic.encoder(batch)
        action, _ = self.actor(features, deterministic, self.generator)
        if self.gripper is not None:
            command = self.gripper.command(features, deterministic, self.generator)
            action = torch.cat([action, command[:, None]], dim=-1)
        return action[0].numpy()

    @torch.no_grad()
    def q_values(self, obs: dict[str, np.ndarray], action: np.ndarray) -> np.ndarray:
        """Every ensemble member's Q for one flat observation and action: (num_critics,)."""
        batch = self.spec.batch_of_one(obs)
        actions = torch.as_tensor(np.asarray(action, dtype=np.float32)[None, : self.continuous_dim])
        return self.critic.forward_features(self.critic.encoder(batch), actions)[:, 0].numpy()

    # ------------------------------------------------------------------------------------------ learning
    def _augment(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.cfg.augment_pad <= 0 or not self.spec.image_keys:
            return obs
        out = dict(obs)
        for key in self.spec.image_keys:
            out[key] = random_shift(obs[key], self.cfg.augment_pad, self.generator)
        return out

    def update(self, batch: Batch, actor: bool = True) -> dict[str, float]:
        """One critic update, plus an actor and temperature update every ``actor_delay`` calls (never
        with ``actor=False``: a warm start recalibrates the critic first)."""
        obs, next_obs = self._augment(batch.obs), self._augment(batch.next_obs)
        metrics = self._update_critic(obs, batch, next_obs)
        self.num_updates += 1
        if actor and self.num_updates % self.cfg.actor_delay == 0:
            metrics.update(self._update_actor_and_temperature(obs, batch))
        return metrics

    def _update_critic(
        self, obs: dict[str, torch.Tensor], batch: Batch, next_obs: dict[str, torch.Tensor]
    ) -> dict[str, float]:
        cfg = self.cfg
        with torch.no_grad():
            next_features = self.critic.encoder(next_obs)
            next_action, next_log_prob = self.actor(next_features, generator=self.generator)
            target_features = self.target_critic.encoder(next_obs)
            next_q_all = self.target_critic.forward_features(target_features, next_action)
            next_q = losses.subsample_min(next_q_all, cfg.num_min_critics, self.generator)
            target = losses.soft_td_target(
                batch.rewards,
                batch.discounts,
                next_q,
                next_log_prob if cfg.backup_entropy else None,
                self.alpha,
            )
        features = self.critic.encoder(obs)
        q = self.critic.forward_features(features, batch.actions[:, : self.continuous_dim])
        loss = losses.critic_loss(q, target)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = self._clip(self.critic)
        self.critic_opt.step()
        losses.polyak_update(self.target_critic, self.critic, cfg.tau)
        metrics = {}
        if self.gripper is not None:
            metrics = self.gripper.update(
                features.detach(), batch.actions[:, -1], batch.rewards, batch.discounts, next_features
            )
        return metrics | {
            "train/critic_loss": loss.item(),
            "train/q_mean": q.mean().item(),
            "train/target_mean": target.mean().item(),
            "train/critic_grad_norm": grad_norm,
        }

    def _update_actor_and_temperature(self, obs: dict[str, torch.Tensor], batch: Batch) -> dict[str, float]:
        with torch.no_grad():
            features = self.critic.encoder(obs)  # the actor never trains the encoder
        action, log_prob = self.actor(features, generator=self.generator)
        with no_param_grads(self.critic):
            q = self.critic.forward_features(features, action)
        loss = losses.actor_loss(q, log_prob, self.alpha)
        bc, bc_kept = torch.zeros(()), 1.0
        if self.cfg.bc_weight > 0 and bool(batch.from_demos.any()):
            # Optional demo regulariser (SAC+BC in the manner of Nair et al. 2018): the policy mean on
            # demo states is pulled towards the demonstrated action.
            demo_features = features[batch.from_demos]
            demo_action = batch.actions[batch.from_demos][:, : self.continuous_dim]
            mean_action, _ = self.actor(demo_features, deterministic=True)
            bc, bc_kept = losses.demo_bc_term(
                self.critic.forward_features, demo_features, mean_action, demo_action,
                q[:, batch.from_demos], self.cfg.bc_q_filter,
            )  # fmt: skip
            loss = loss + self.cfg.bc_weight * bc
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = self._clip(self.actor)
        self.actor_opt.step()

        temp_loss = losses.temperature_loss(self.log_alpha, log_prob, self.target_entropy)
        self.temperature_opt.zero_grad(set_to_none=True)
        temp_loss.backward()
        self.temperature_opt.step()
        return {
            "train/actor_loss": loss.item(),
            "train/entropy": -log_prob.mean().item(),
            "train/alpha": self.alpha,
            "train/temperature_loss": temp_loss.item(),
            "train/actor_grad_norm": grad_norm,
            "train/bc_loss": bc.item(),
            "train/bc_kept": bc_kept,  # share of demo samples the Q filter let through
        }

    def _clip(self, module: nn.Module) -> float:
        params = [p for p in module.parameters() if p.grad is not None]
        max_norm = self.cfg.grad_clip_norm if self.cfg.grad_clip_norm is not None else float("inf")
        return float(nn.utils.clip_grad_norm_(params, max_norm))

"""Residual RL on a frozen base policy, following ResFiT (Ankile et al. 2025).

The executed action is ``clip(a_base + scale * tanh(r(s, a_base)), -1, 1)``: the base policy (a BC
policy, a scripted controller, any callable) proposes ``a_base``, which the env wrapper
``BaseActionObservation`` puts into the observation as ``base_action``; the residual actor reads the
state and ``a_base`` and adds a bounded correction. Its last layer starts at zero, so step 0 executes
exactly the base. Learning is TD3 by default (``algorithm: sac`` for a Gaussian residual with an
entropy term) over a LayerNorm critic ensemble with REDQ targets and n-step returns, on the executed
action. Schedules: the first ``base_warmup_steps`` exploration actions are the base plus Gaussian noise;
the actor waits until ``critic_warmup_updates`` critic updates have run. The TD3 actor loss normalises Q by
its mean magnitude and adds ``residual_penalty * residual^2`` (in the manner of TD3+BC, Fujimoto & Gu
2021, with the base as the behaviour): without it the deterministic residual saturates at its bound
within a few hundred updates, long before the critic can rank actions.

Same interface as ``SACAgent`` (``act``, ``update``, ``policy_state``...), so the single-process trainer
and the actor/learner nodes run it unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robot_rl import losses
from robot_rl.agents.policy_weights import PolicyWeights
from robot_rl.agents.sac import LOG_STD_MAX, LOG_STD_MIN, Critic, SACConfig
from robot_rl.buffers import Batch
from robot_rl.errors import ConfigError
from robot_rl.networks import mlp, no_param_grads
from robot_rl.obs import ObsSpec

BASE_ACTION_KEY = "base_action"


@dataclass
class ResidualConfig:
    name: str = "residual"
    algorithm: str = "td3"  # td3 | sac
    base_policy: str = ""  # BC policy folder (robot-rl train-bc) or expert:<name> (sim.experts)
    # |executed - base| <= this (normalised action units): one value for every action dimension, or one each
    residual_scale: list[float] = field(default_factory=lambda: [0.3])
    gamma: float = 0.99
    tau: float = 0.005
    num_critics: int = 4
    num_min_critics: int = 2
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])
    critic_layer_norm: bool = True
    actor_lr: float = 1e-4  # slower than the critic: the residual moves only where Q is trained
    critic_lr: float = 3e-4
    actor_delay: int = 2  # TD3: actor and target updates every this many critic updates
    exploration_noise: float = 0.3  # TD3: Gaussian noise on the residual (pre-tanh units of the scale)
    q_weight: float = 1.0  # TD3: actor loss = -q_weight * Q / mean|Q| + residual_penalty * residual^2
    residual_penalty: float = 0.1  # pulls the residual towards 0 (the base) unless Q clearly gains
    bc_weight: float = 2.0  # on demo samples, pull the executed action towards the demonstrated one
    bc_q_filter: bool = True  # ... only where Q(s, demo action) > Q(s, executed action) (Nair 2018)
    target_noise: float = 0.2  # TD3 target policy smoothing
    target_noise_clip: float = 0.5
    base_warmup_steps: int = 500  # exploration steps that execute base + N(0, base_noise)
    base_noise: float = 0.1
    critic_warmup_updates: int = 1000  # critic-only updates before the actor learns
    init_temperature: float = 0.01  # sac
    temperature_lr: float = 3e-4  # sac
    target_entropy_per_dim: float = -2.0  # sac
    image_feature_dim: int = 50
    symlog_inputs: bool = True  # squash the state (robot_rl.agents.sac.Encoder): wrench in N vs pose in m
    grad_clip_norm: float | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ("td3", "sac"):
            raise ValueError(f"agent.algorithm={self.algorithm!r} is not one of td3, sac")
        if isinstance(self.residual_scale, int | float):
            self.residual_scale = [float(self.residual_scale)]
        if not self.residual_scale or not all(0.0 < s <= 2.0 for s in self.residual_scale):
            raise ValueError(f"agent.residual_scale={self.residual_scale} must be values in (0, 2]")

    def critic_config(self) -> SACConfig:
        return SACConfig(
            num_critics=self.num_critics, hidden_dims=self.hidden_dims,
            critic_layer_norm=self.critic_layer_norm, image_feature_dim=self.image_feature_dim,
            symlog_inputs=self.symlog_inputs,
        )  # fmt: skip


class ResidualActor(nn.Module):
    """(features) -> residual in [-1, 1] (deterministic) or a tanh-Gaussian sample with its log-prob."""

    def __init__(self, in_dim: int, action_dim: int, hidden: list[int], stochastic: bool) -> None:
        super().__init__()
        self.stochastic = stochastic
        # LayerNorm: raw states mix metres with newtons (wrench); without it the residual saturates.
        self.net = mlp(in_dim, hidden, action_dim * (2 if stochastic else 1), layer_norm=True)
        last = self.net[-1]
        nn.init.zeros_(last.weight)  # start exactly at the base policy
        nn.init.zeros_(last.bias)

    def forward(
        self, features: torch.Tensor, deterministic: bool = True, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.net(features)
        if not self.stochastic:
            return torch.tanh(out), None
        mean, log_std = out.chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), None
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        noise = torch.randn(mean.shape, generator=generator)
        pre = mean + log_std.exp() * noise
        residual = torch.tanh(pre)
        log_prob = (-0.5 * noise.pow(2) - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        log_prob = log_prob - torch.log(1 - residual.pow(2) + 1e-6).sum(-1)
        return residual, log_prob


class ResidualAgent(PolicyWeights):
    POLICY_PREFIXES = ("actor.", "critic.encoder.")

    def __init__(self, spec: ObsSpec, action_dim: int, cfg: ResidualConfig, seed: int = 0) -> None:
        super().__init__()
        if BASE_ACTION_KEY not in spec.state_keys:
            raise ValueError(
                f"residual RL needs {BASE_ACTION_KEY!r} in the observation (BaseActionObservation); "
                f"the state keys are {spec.state_keys}"
            )
        scales = len(cfg.residual_scale)
        if scales not in (1, action_dim):
            example = ",".join(["0.3"] * action_dim)
            raise ConfigError(
                f"agent.residual_scale has {scales} values for {action_dim} action dimensions; give one "
                f"value for all of them or {action_dim}, e.g. agent.residual_scale=[{example}]"
            )
        self.cfg, self.spec, self.action_dim, self.continuous_dim = cfg, spec, action_dim, action_dim
        self.scale = torch.tensor(cfg.residual_scale, dtype=torch.float32)
        self.critic = Critic(spec, action_dim, cfg.critic_config())
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        features = self.critic.encoder.out_dim
        self.actor = ResidualActor(features, action_dim, cfg.hidden_dims, cfg.algorithm == "sac")
        self.target_actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(float(np.log(cfg.init_temperature))))
        self.target_entropy = cfg.target_entropy_per_dim * action_dim
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.temperature_opt = torch.optim.Adam([self.log_alpha], lr=cfg.temperature_lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.num_updates = 0
        self.explore_steps = 0

    def counters(self) -> dict:
        """Schedule state a checkpoint must keep (exploration steps, the noise RNG)."""
        return {"explore_steps": self.explore_steps, "rng": self.rng.bit_generator.state}

    def set_counters(self, counters: dict) -> None:
        self.explore_steps = int(counters.get("explore_steps", 0))
        if "rng" in counters:
            self.rng.bit_generator.state = counters["rng"]

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"critic": self.critic_opt, "actor": self.actor_opt}
        if self.cfg.algorithm == "sac":
            optimizers["temperature"] = self.temperature_opt
        return optimizers

    # ------------------------------------------------------------------------------------------ acting
    def executed(self, base: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return (base + self.scale * residual).clamp(-1.0, 1.0)

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray], deterministic: bool = False) -> np.ndarray:
        """The executed action for one flat observation (which carries ``base_action``)."""
        base = np.asarray(obs[BASE_ACTION_KEY], dtype=np.float32)
        cfg = self.cfg
        if not deterministic:
            self.explore_steps += 1
            if self.explore_steps <= cfg.base_warmup_steps:
                noisy = base + self.rng.normal(0.0, cfg.base_noise, base.shape)
                return np.clip(noisy, -1.0, 1.0).astype(np.float32)
        features = self.critic.encoder(self.spec.batch_of_one(obs))
        residual, _ = self.actor(features, deterministic, self.generator)
        if not deterministic and cfg.algorithm == "td3":
            noise = torch.randn(residual.shape, generator=self.generator) * cfg.exploration_noise
            residual = (residual + noise).clamp(-1.0, 1.0)
        return self.executed(torch.as_tensor(base)[None], residual)[0].numpy()

    @torch.no_grad()
    def q_values(self, obs: dict[str, np.ndarray], action: np.ndarray) -> np.ndarray:
        actions = torch.as_tensor(np.asarray(action, dtype=np.float32)[None])
        return self.critic.forward_features(self.critic.encoder(self.spec.batch_of_one(obs)), actions)[
            :, 0
        ].numpy()

    # ------------------------------------------------------------------------------------------ learning
    def update(self, batch: Batch, actor: bool = True) -> dict[str, float]:
        metrics = self._update_critic(batch)
        self.num_updates += 1
        cfg = self.cfg
        warm = self.num_updates > cfg.critic_warmup_updates
        if actor and warm and self.num_updates % cfg.actor_delay == 0:
            metrics.update(self._update_actor(batch))
            if cfg.algorithm == "td3":
                losses.polyak_update(self.target_actor, self.actor, cfg.tau)
        return metrics

    def _next_action(self, next_obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        cfg = self.cfg
        features = self.critic.encoder(next_obs)
        base = next_obs[BASE_ACTION_KEY]
        if cfg.algorithm == "sac":
            residual, log_prob = self.actor(features, deterministic=False, generator=self.generator)
            return self.executed(base, residual), log_prob
        residual, _ = self.target_actor(features)
        noise = (torch.randn(residual.shape, generator=self.generator) * cfg.target_noise).clamp(
            -cfg.target_noise_clip, cfg.target_noise_clip
        )
        return self.executed(base, (residual + noise).clamp(-1.0, 1.0)), None

    def _update_critic(self, batch: Batch) -> dict[str, float]:
        cfg = self.cfg
        with torch.no_grad():
            next_action, next_log_prob = self._next_action(batch.next_obs)
            target_q = self.target_critic.forward_features(
                self.target_critic.encoder(batch.next_obs), next_action
            )
            next_q = losses.subsample_min(target_q, cfg.num_min_critics, self.generator)
            target = losses.soft_td_target(batch.rewards, batch.discounts, next_q, next_log_prob, self.alpha)
        q = self.critic.forward_features(self.critic.encoder(batch.obs), batch.actions)
        loss = losses.critic_loss(q, target)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self._clip(self.critic)
        self.critic_opt.step()
        losses.polyak_update(self.target_critic, self.critic, cfg.tau)
        return {"train/critic_loss": loss.item(), "train/q_mean": q.mean().item()}

    def _update_actor(self, batch: Batch) -> dict[str, float]:
        with torch.no_grad():
            features = self.critic.encoder(batch.obs)
        stochastic = self.cfg.algorithm == "sac"
        residual, log_prob = self.actor(features, deterministic=not stochastic, generator=self.generator)
        action = self.executed(batch.obs[BASE_ACTION_KEY], residual)
        with no_param_grads(self.critic):
            q = self.critic.forward_features(features, action)
        if stochastic:
            loss = losses.actor_loss(q, log_prob, self.alpha)
        else:  # TD3+BC-style: Q normalised by its scale, the residual pulled towards 0 (the base)
            scale = self.cfg.q_weight / q.abs().mean().detach().clamp_min(1e-3)
            loss = -scale * q.mean()
        loss = loss + self.cfg.residual_penalty * residual.pow(2).mean()
        bc, bc_kept = torch.zeros(()), 1.0
        demo = batch.from_demos
        if self.cfg.bc_weight > 0 and bool(demo.any()):  # the residual corrects the base towards the demo
            bc, bc_kept = losses.demo_bc_term(
                self.critic.forward_features, features[demo], action[demo], batch.actions[demo],
                q[:, demo].detach(), self.cfg.bc_q_filter,
            )  # fmt: skip
            loss = loss + self.cfg.bc_weight * bc
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        self._clip(self.actor)
        self.actor_opt.step()
        metrics = {"train/actor_loss": loss.item(), "train/residual_abs": residual.abs().mean().item(),
                   "train/bc_loss": bc.item(), "train/bc_kept": bc_kept}  # fmt: skip
        if stochastic:
            temp_loss = losses.temperature_loss(self.log_alpha, log_prob, self.target_entropy)
            self.temperature_opt.zero_grad(set_to_none=True)
            temp_loss.backward()
            self.temperature_opt.step()
            metrics["train/alpha"] = self.alpha
        return metrics

    def _clip(self, module: nn.Module) -> None:
        if self.cfg.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(module.parameters(), self.cfg.grad_clip_norm)

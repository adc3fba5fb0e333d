"""Pure tensor functions of SAC/RLPD: targets and losses, tested against hand-computed numbers."""

from __future__ import annotations

import torch


def soft_td_target(
    reward: torch.Tensor,
    discount: torch.Tensor,
    next_q: torch.Tensor,
    next_log_prob: torch.Tensor | None,
    alpha: float,
) -> torch.Tensor:
    """``r + discount * (Q' - alpha * log pi')``.

    ``discount`` is already ``gamma**m * (1 - terminated)`` for an m-step return (see
    ``ReplayBuffer.sample``): a truly terminal step stops bootstrapping, a truncated one does not.
    Without ``next_log_prob`` (``backup_entropy=False``) the entropy bonus is left out of the target.
    """
    soft_q = next_q if next_log_prob is None else next_q - alpha * next_log_prob
    return reward + discount * soft_q


def subsample_min(
    q_values: torch.Tensor, num_min: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """REDQ: min over a random subset of ``num_min`` ensemble members. (E, B) -> (B,)."""
    ensemble = q_values.shape[0]
    if num_min >= ensemble:
        return q_values.min(dim=0).values
    idx = torch.randperm(ensemble, generator=generator)[:num_min].to(q_values.device)
    return q_values[idx].min(dim=0).values


def critic_loss(q_values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over members of the MSE to a shared target: (E, B), (B,) -> scalar (sum over members)."""
    return ((q_values - target.unsqueeze(0)) ** 2).mean(dim=1).sum()


def actor_loss(q_values: torch.Tensor, log_prob: torch.Tensor, alpha: float) -> torch.Tensor:
    """SAC policy loss with the ensemble mean Q (RLPD/REDQ): ``E[alpha * log pi - mean_e Q_e]``."""
    return (alpha * log_prob - q_values.mean(dim=0)).mean()


def bc_loss(
    policy_action: torch.Tensor, demo_action: torch.Tensor, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error between the policy's mean action and the demonstrated one, summed over dims;
    with ``keep`` (a Q filter) only the kept samples count, averaged over all of them (Nair et al. 2018)."""
    error = ((policy_action - demo_action) ** 2).sum(dim=-1)
    return (error * keep).mean() if keep is not None else error.mean()


def demo_bc_term(
    critic_q,
    demo_features: torch.Tensor,
    demo_policy_action: torch.Tensor,
    demo_action: torch.Tensor,
    q_policy: torch.Tensor,
    q_filter: bool,
) -> tuple[torch.Tensor, float]:
    """The BC regulariser on demo samples and the share the Q filter kept.

    ``critic_q(features, action) -> (E, B)``; ``q_policy`` (E, B) is the critic on the policy's actions
    at the same demo states. With ``q_filter`` only samples where the critic rates the demonstrated action
    above the policy's are imitated (Nair et al. 2018)."""
    keep = None
    if q_filter:
        with torch.no_grad():
            keep = critic_q(demo_features, demo_action).mean(dim=0) > q_policy.mean(dim=0)
    kept = 1.0 if keep is None else keep.float().mean().item()
    return bc_loss(demo_policy_action, demo_action, keep), kept


def temperature_loss(log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Tune alpha so the policy entropy tracks ``target_entropy`` (Haarnoja et al. 2018b, eq. 18)."""
    return -(log_alpha.exp() * (log_prob.detach() + target_entropy)).mean()


def double_dqn_target(
    reward: torch.Tensor,
    discount: torch.Tensor,
    next_q_online: torch.Tensor,
    next_q_target: torch.Tensor,
) -> torch.Tensor:
    """Double DQN: the online net picks the next action, the target net values it. Q's are (B, A)."""
    best = next_q_online.argmax(dim=1, keepdim=True)
    return reward + discount * next_q_target.gather(1, best).squeeze(1)


def polyak_update(target: torch.nn.Module, online: torch.nn.Module, tau: float) -> None:
    """``target <- (1 - tau) * target + tau * online``, in place."""
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters(), strict=True):
            t.lerp_(o, tau)

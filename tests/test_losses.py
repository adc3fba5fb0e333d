"""SAC/RLPD maths against numbers worked out by hand."""

from __future__ import annotations

import pytest
import torch

from robot_rl import losses


def test_soft_td_target_stops_only_where_discount_is_zero() -> None:
    out = losses.soft_td_target(
        torch.tensor([1.0, 1.0]),
        torch.tensor([0.5, 0.0]),
        torch.tensor([2.0, 2.0]),
        torch.tensor([1.0, 1.0]),
        0.1,
    )
    assert torch.allclose(out, torch.tensor([1.0 + 0.5 * (2.0 - 0.1), 1.0]))


def test_soft_td_target_without_backup_entropy() -> None:
    out = losses.soft_td_target(torch.tensor([0.0]), torch.tensor([0.9]), torch.tensor([10.0]), None, 0.5)
    assert torch.allclose(out, torch.tensor([9.0]))


def test_subsample_min_takes_min_over_a_subset() -> None:
    q = torch.tensor([[1.0, 5.0], [2.0, 4.0], [3.0, 3.0]])
    assert torch.equal(losses.subsample_min(q, 3), torch.tensor([1.0, 3.0]))
    g = torch.Generator().manual_seed(0)
    sub = losses.subsample_min(q, 2, g)
    assert sub.shape == (2,)
    # any 2 of 3 rows: the min per column is one of the column's two smallest values
    assert sub[0] in (1.0, 2.0) and sub[1] in (3.0, 4.0)


def test_critic_loss_sums_member_mses() -> None:
    q = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    target = torch.tensor([2.0, 2.0])
    assert torch.isclose(losses.critic_loss(q, target), torch.tensor((1 + 1) / 2 + 0.0))


def test_actor_loss_uses_ensemble_mean() -> None:
    q = torch.tensor([[1.0], [3.0]])
    assert torch.isclose(losses.actor_loss(q, torch.tensor([-1.0]), alpha=0.5), torch.tensor(-0.5 - 2.0))


def test_temperature_loss_gradient_sign() -> None:
    log_alpha = torch.zeros((), requires_grad=True)
    # entropy (= -log_prob = 1) above target (-2): alpha should go down -> positive gradient
    losses.temperature_loss(log_alpha, torch.tensor([-1.0]), target_entropy=-2.0).backward()
    assert log_alpha.grad > 0


def test_double_dqn_target_picks_with_online_values_with_target() -> None:
    online = torch.tensor([[0.0, 5.0, 1.0]])
    target = torch.tensor([[9.0, 2.0, 7.0]])
    out = losses.double_dqn_target(torch.tensor([1.0]), torch.tensor([0.5]), online, target)
    assert torch.allclose(out, torch.tensor([1.0 + 0.5 * 2.0]))


def test_polyak_update() -> None:
    a, b = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        a.weight.fill_(0.0)
        b.weight.fill_(1.0)
    losses.polyak_update(a, b, 0.1)
    assert torch.isclose(a.weight, torch.tensor([[0.1]]))


def test_bc_loss_is_summed_squared_error_averaged_over_batch() -> None:
    out = losses.bc_loss(torch.tensor([[0.0, 1.0], [1.0, 1.0]]), torch.tensor([[1.0, 1.0], [1.0, -1.0]]))
    assert torch.isclose(out, torch.tensor((1.0 + 4.0) / 2))


def test_gripper_commands_map_to_open_stay_close_indices() -> None:
    from robot_rl.agents.gripper_critic import command_to_index

    assert command_to_index(torch.tensor([-1.0, -0.9, 0.0, 0.2, 0.7, 1.0])).tolist() == [0, 0, 1, 1, 2, 2]


def test_q_filtered_bc_counts_only_the_kept_samples_over_the_whole_batch() -> None:
    policy = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.5, 0.0]])
    demo = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.0]])
    keep = torch.tensor([True, False, True])
    assert losses.bc_loss(policy, demo).item() == pytest.approx(2.0 / 3)
    assert losses.bc_loss(policy, demo, keep).item() == pytest.approx(1.0 / 3)  # sample 1 filtered out

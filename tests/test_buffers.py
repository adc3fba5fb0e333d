"""Replay buffer: episode boundaries and n-step targets against hand-computed values (obs = index)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.buffers import MixedBuffer, ReplayBuffer

SPACES = {
    "state": gym.spaces.Box(-np.inf, np.inf, (1,), np.float32),
    "image": gym.spaces.Box(0, 255, (4, 4, 3), np.uint8),
}


def frame(i: float) -> dict[str, np.ndarray]:
    return {"state": np.array([i], np.float32), "image": np.full((4, 4, 3), int(i) % 256, np.uint8)}


def fill(buffer: ReplayBuffer, episodes: list[tuple[int, str]], start: int = 0) -> None:
    """Episodes of (length, 'term'|'trunc'); observation value = running frame counter, reward = 1."""
    value = start
    for length, end in episodes:
        for t in range(length):
            last = t == length - 1
            buffer.add(
                frame(value),
                np.zeros(2),
                1.0,
                frame(value + 1),
                last and end == "term",
                last and end == "trunc",
            )
            value += 1
        value += 1  # the final next-obs has a frame of its own


def test_storage_dtypes_follow_the_space_and_images_are_stored_once() -> None:
    buffer = ReplayBuffer(SPACES, 2, capacity=10)
    assert buffer.frames["image"].dtype == np.uint8 and buffer.frames["state"].dtype == np.float32
    fill(buffer, [(3, "trunc")])
    # 3 transitions of one episode take 4 frames, not 6 (no duplicated next_obs).
    assert buffer.pos == 4 and len(buffer) == 3


def test_one_step_next_obs_never_crosses_an_episode_boundary() -> None:
    buffer = ReplayBuffer(SPACES, 2, capacity=32, n_step=1, gamma=0.5)
    fill(buffer, [(3, "trunc"), (2, "term"), (4, "trunc")])
    idx = np.flatnonzero(buffer.valid)
    rewards, discounts, boot = buffer.nstep_indices(idx)
    obs = buffer.frames["state"][idx, 0]
    next_obs = buffer.frames["state"][boot, 0]
    np.testing.assert_array_equal(next_obs, obs + 1)  # values were written as obs, obs + 1
    np.testing.assert_allclose(rewards, 1.0)
    # terminal step of episode 2 (obs value 5) does not bootstrap; the truncated ones do.
    expected = np.where(obs == 5, 0.0, 0.5)
    np.testing.assert_allclose(discounts, expected)


def test_n_step_returns_match_hand_computed_values() -> None:
    gamma = 0.5
    buffer = ReplayBuffer(SPACES, 2, capacity=32, n_step=3, gamma=gamma)
    fill(buffer, [(4, "term"), (3, "trunc")])
    # Episode A: obs 0,1,2,3 -> final 4 (terminated).  Episode B: obs 5,6,7 -> final 8 (truncated).
    idx = np.array([0, 1, 2, 3, 5, 6, 7])
    rewards, discounts, boot = buffer.nstep_indices(idx)
    boot_obs = buffer.frames["state"][boot, 0]
    np.testing.assert_allclose(rewards, [1.75, 1.75, 1.5, 1.0, 1.75, 1.5, 1.0])  # 1+.5+.25, 1+.5, 1
    # A: 0 -> 3 (3 steps, gamma^3); 1 -> 4 terminal (0); 2 -> 4 terminal; 3 -> 4 terminal.
    # B: 5 -> 8 (3 steps, truncated at the 3rd: still bootstraps); 6 -> 8 (2 steps); 7 -> 8 (1 step).
    np.testing.assert_allclose(discounts, [0.125, 0.0, 0.0, 0.0, 0.125, 0.25, 0.5])
    np.testing.assert_array_equal(boot_obs, [3, 4, 4, 4, 8, 8, 8])


def test_n_step_stops_at_the_step_in_progress() -> None:
    buffer = ReplayBuffer(SPACES, 2, capacity=32, n_step=3, gamma=0.5)
    buffer.add(frame(0), np.zeros(2), 1.0, frame(1), False, False)
    buffer.add(frame(1), np.zeros(2), 1.0, frame(2), False, False)  # episode still running
    rewards, discounts, boot = buffer.nstep_indices(np.array([0, 1]))
    np.testing.assert_allclose(rewards, [1.5, 1.0])
    np.testing.assert_allclose(discounts, [0.25, 0.5])
    np.testing.assert_array_equal(buffer.frames["state"][boot, 0], [2, 2])


def test_ring_overwrite_invalidates_only_overwritten_transitions() -> None:
    buffer = ReplayBuffer(SPACES, 2, capacity=6, n_step=1)
    fill(buffer, [(2, "trunc"), (2, "trunc"), (2, "trunc")])  # 9 frames into 6 slots
    idx = np.flatnonzero(buffer.valid)
    _, _, boot = buffer.nstep_indices(idx)
    obs = buffer.frames["state"][idx, 0]
    np.testing.assert_array_equal(buffer.frames["state"][boot, 0], obs + 1)
    assert sorted(obs.tolist()) == [3.0, 4.0, 6.0, 7.0]


def test_state_dict_round_trip_is_exact() -> None:
    a = ReplayBuffer(SPACES, 2, capacity=16, n_step=2)
    fill(a, [(3, "term"), (2, "trunc")])
    b = ReplayBuffer(SPACES, 2, capacity=16, n_step=2)
    b.load_state_dict(a.state_dict())
    ba, bb = a.sample(8, np.random.default_rng(1)), b.sample(8, np.random.default_rng(1))
    for key in ba.obs:
        assert np.array_equal(ba.obs[key].numpy(), bb.obs[key].numpy())
    assert np.array_equal(ba.discounts.numpy(), bb.discounts.numpy())
    assert (a.pos, a.need_obs) == (b.pos, b.need_obs)


def test_a_checkpoint_holds_the_stored_frames_not_the_empty_capacity() -> None:
    a = ReplayBuffer(SPACES, 2, capacity=100_000)
    fill(a, [(3, "term"), (2, "trunc")])  # 7 frames
    state = a.state_dict()
    assert all(len(v) == 7 for k, v in state.items() if k != "counters")
    b = ReplayBuffer(SPACES, 2, capacity=100_000)
    b.load_state_dict(state)
    np.testing.assert_array_equal(b.valid, a.valid)
    np.testing.assert_array_equal(b.frames["state"], a.frames["state"])
    fill(a, [(2, "trunc")])
    fill(b, [(2, "trunc")])  # writing continues where it stopped
    np.testing.assert_array_equal(b.frames["state"], a.frames["state"])
    with pytest.raises(ValueError, match="more than"):
        ReplayBuffer(SPACES, 2, capacity=4).load_state_dict(state)


def test_a_wrapped_ring_loads_into_a_larger_buffer_with_its_transitions_intact() -> None:
    """A resume with a larger train.buffer_capacity, or WSRL's retained source replay with room to grow."""
    small = ReplayBuffer(SPACES, 2, capacity=10, n_step=3, gamma=0.5)
    fill(small, [(4, "trunc"), (5, "term"), (6, "trunc")])  # 18 frames through 10 slots: wrapped
    big = ReplayBuffer(SPACES, 2, capacity=32, n_step=3, gamma=0.5)
    big.load_state_dict(small.state_dict())

    def transitions(buffer: ReplayBuffer) -> set[tuple[float, float, float, float]]:
        idx = np.flatnonzero(buffer.valid)
        rewards, discounts, boot = buffer.nstep_indices(idx)
        states = buffer.frames["state"][:, 0]
        return set(zip(states[idx], rewards, discounts, states[boot], strict=True))

    assert len(big) == len(small) > 0 and transitions(big) == transitions(small)
    fill(big, [(2, "trunc")], start=100)  # writing goes on after the newest frame, overwriting nothing
    assert transitions(big) >= transitions(small) and len(big) == len(small) + 2
    roomy = ReplayBuffer(SPACES, 2, capacity=100)
    fill(roomy, [(7, "trunc")])  # 8 frames, write position 8
    exact = ReplayBuffer(SPACES, 2, capacity=8)
    exact.load_state_dict(roomy.state_dict())
    fill(exact, [(1, "trunc")])  # used to write at slot 8 of 8: IndexError


def test_capacity_over_memory_cap_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="max_memory_gb"):
        ReplayBuffer(SPACES, 2, capacity=10_000_000, max_memory_gb=0.01)


def test_mixed_buffer_samples_the_configured_ratio() -> None:
    online = ReplayBuffer(SPACES, 2, capacity=32)
    offline = ReplayBuffer(SPACES, 2, capacity=32)
    fill(online, [(5, "trunc")], start=0)
    fill(offline, [(5, "trunc")], start=100)
    batch = MixedBuffer(online, offline, online_ratio=0.25).sample(16, np.random.default_rng(0))
    values = batch.obs["state"][:, 0].numpy()
    assert (values < 100).sum() == 4 and (values >= 100).sum() == 12

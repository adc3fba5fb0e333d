"""Replay buffers: one frame per observation (uint8 images stored once), n-step sampling, 50/50 mixing.

Storage is a ring of *frames*. A transition lives in the slot of its observation; its next
observation is always the following slot. An episode of T steps takes T + 1 slots: the final next
observation gets a slot of its own that is never a transition start, so a time-limit truncation
bootstraps from its own last frame, never from the next episode's first one (the LeRobot
``optimize_memory`` bug of STYLE.md).

    slot:   0    1    2    3 | 4    5    6
    frame:  o0   o1   o2   o3| p0   p1   ...     (o3 = final obs of episode o; p = next episode)
    valid:  T    T    T    F | T    T    F       (slot 6: in-progress step, next frame not written)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """A sampled minibatch. ``rewards`` are n-step discounted sums; ``discounts`` are
    ``gamma**m * (1 - terminated)`` for the m <= n steps actually summed."""

    obs: dict[str, torch.Tensor]
    actions: torch.Tensor  # (B, action_dim)
    rewards: torch.Tensor  # (B,)
    discounts: torch.Tensor  # (B,)
    next_obs: dict[str, torch.Tensor]
    from_demos: torch.Tensor  # (B,) bool: the transition came from the demonstration buffer

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        return Batch(
            obs={k: torch.cat([b.obs[k] for b in batches]) for k in batches[0].obs},
            actions=torch.cat([b.actions for b in batches]),
            rewards=torch.cat([b.rewards for b in batches]),
            discounts=torch.cat([b.discounts for b in batches]),
            next_obs={k: torch.cat([b.next_obs[k] for b in batches]) for k in batches[0].next_obs},
            from_demos=torch.cat([b.from_demos for b in batches]),
        )


class ReplayBuffer:
    """Frame-ring replay buffer.

    :param spaces: flat key -> Box of what to store per frame; storage dtype = the Box's dtype.
    :param action_dim: size of the stored (executed) action.
    :param capacity: frames kept (transitions ~ capacity * T / (T + 1)).
    :param n_step: steps summed per sampled return.
    :param gamma: discount per step.
    :param max_memory_gb: refuse to allocate more than this.
    :param demos: this buffer holds demonstrations (sampled transitions are flagged ``from_demos``).
    """

    def __init__(
        self,
        spaces: dict[str, gym.spaces.Box],
        action_dim: int,
        capacity: int,
        *,
        n_step: int = 1,
        gamma: float = 0.99,
        max_memory_gb: float = 8.0,
        demos: bool = False,
    ) -> None:
        if capacity < 2 or n_step < 1:
            raise ValueError(f"capacity={capacity} must be >= 2 and n_step={n_step} >= 1")
        frame_bytes = sum(int(np.prod(b.shape)) * np.dtype(b.dtype).itemsize for b in spaces.values())
        total_gb = capacity * (frame_bytes + 4 * action_dim + 7) / 1e9
        if total_gb > max_memory_gb:
            raise ValueError(
                f"replay buffer of {capacity} frames needs {total_gb:.1f} GB > "
                f"max_memory_gb={max_memory_gb}; "
                "lower buffer capacity or raise max_memory_gb"
            )
        log.info("replay buffer: %d frames, %.3f GB", capacity, total_gb)
        self.capacity, self.n_step, self.gamma, self.demos = capacity, n_step, gamma, demos
        self.frames = {k: np.zeros((capacity, *b.shape), dtype=b.dtype) for k, b in spaces.items()}
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.truncated = np.zeros(capacity, dtype=bool)
        self.valid = np.zeros(capacity, dtype=bool)
        self.pos = 0
        self.filled = 0  # slots ever written (checkpoints save only these)
        self.need_obs = True  # the next add() starts an episode and must store its first obs
        self.num_added = 0

    def __len__(self) -> int:
        return int(self.valid.sum())

    # ------------------------------------------------------------------------------------------ writing
    def _write_frame(self, frame: dict[str, np.ndarray]) -> int:
        slot = self.pos
        self.valid[slot] = False  # the transition that started here is overwritten
        for key, store in self.frames.items():
            store[slot] = frame[key]
        self.pos = (slot + 1) % self.capacity
        self.filled = max(self.filled, slot + 1)
        return slot

    def add(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        next_obs: dict[str, np.ndarray],
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Store one transition; ``obs`` is read only at an episode's first step (flat keys)."""
        slot = self._write_frame(obs) if self.need_obs else (self.pos - 1) % self.capacity
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.terminated[slot] = terminated
        self.truncated[slot] = truncated
        self._write_frame(next_obs)
        self.valid[slot] = True
        self.need_obs = bool(terminated or truncated)
        self.num_added += 1

    def end_episode(self) -> None:
        """Mark an episode cut short from outside (e.g. the actor restarted); the next add() starts anew."""
        self.need_obs = True

    # ------------------------------------------------------------------------------------------ reading
    def nstep_indices(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For transition slots ``idx``: (n-step reward, discount, slot of the bootstrap frame)."""
        ret = np.zeros(len(idx), dtype=np.float64)
        disc = np.ones(len(idx), dtype=np.float64)
        cur = idx.copy()
        active = np.ones(len(idx), dtype=bool)
        boot = (idx + 1) % self.capacity
        for k in range(self.n_step):
            ret[active] += disc[active] * self.rewards[cur[active]]
            disc[active] *= self.gamma
            ended = active & (self.terminated[cur] | self.truncated[cur])
            disc[active & self.terminated[cur]] = 0.0  # true termination: no bootstrap
            nxt = (cur + 1) % self.capacity
            boot[active] = nxt[active]
            active &= ~ended
            active &= self.valid[nxt] if k < self.n_step - 1 else False
            cur = np.where(active, nxt, cur)
        return ret.astype(np.float32), disc.astype(np.float32), boot

    def sample(self, batch_size: int, rng: np.random.Generator, device: str | torch.device = "cpu") -> Batch:
        candidates = np.flatnonzero(self.valid)
        if len(candidates) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = candidates[rng.integers(0, len(candidates), size=batch_size)]
        rewards, discounts, boot = self.nstep_indices(idx)

        def frames_at(slots: np.ndarray) -> dict[str, torch.Tensor]:
            return {k: torch.as_tensor(v[slots], device=device) for k, v in self.frames.items()}

        return Batch(
            obs=frames_at(idx),
            actions=torch.as_tensor(self.actions[idx], device=device),
            rewards=torch.as_tensor(rewards, device=device),
            discounts=torch.as_tensor(discounts, device=device),
            next_obs=frames_at(boot),
            from_demos=torch.full((batch_size,), self.demos, dtype=torch.bool, device=device),
        )

    # ------------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """The written slots of every array plus the write position, for exact resume (saved as .npz,
        no pickle): a checkpoint holds what was stored, not the empty rest of the capacity."""
        n = self.filled
        state = {f"frames/{k}": v[:n] for k, v in self.frames.items()}
        state.update(
            actions=self.actions[:n],
            rewards=self.rewards[:n],
            terminated=self.terminated[:n],
            truncated=self.truncated[:n],
            valid=self.valid[:n],
            counters=np.array([self.pos, int(self.need_obs), self.num_added], dtype=np.int64),
        )
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Into a buffer of the same capacity: slot for slot (an exact resume). Into a larger one, a saved
        ring that had wrapped is laid out oldest-first, so that no slot's next frame is one the new
        capacity puts elsewhere (a slot's next frame is the following slot, modulo the capacity)."""
        n = len(state["valid"])
        if n > self.capacity:
            raise ValueError(f"buffer checkpoint holds {n} slots, more than this buffer's {self.capacity}")
        pos, need_obs, num_added = (int(v) for v in state["counters"].tolist())
        shift = -pos if pos < n and n != self.capacity else 0  # the oldest slot of a wrapped ring to 0
        for key, store in self.frames.items():
            saved = state.get(f"frames/{key}")
            if saved is None or saved.shape != (n, *store.shape[1:]):
                raise ValueError(f"buffer checkpoint lacks frames/{key} of shape (N, {store.shape[1:]})")
            store[:n] = np.roll(saved, shift, axis=0)
        for name in ("actions", "rewards", "terminated", "truncated", "valid"):
            array = getattr(self, name)
            array[:] = 0
            array[:n] = np.roll(state[name], shift, axis=0)
        self.pos = (n if shift else pos) % self.capacity
        self.need_obs, self.num_added, self.filled = bool(need_obs), num_added, n


class MixedBuffer:
    """RLPD's symmetric sampling: ``online_ratio`` of each batch from online data, the rest from demos."""

    def __init__(self, online: ReplayBuffer, offline: ReplayBuffer | None, online_ratio: float = 0.5) -> None:
        if not 0.0 < online_ratio <= 1.0:
            raise ValueError(f"online_ratio={online_ratio} must be in (0, 1]")
        self.online, self.offline, self.online_ratio = online, offline, online_ratio

    def sample(self, batch_size: int, rng: np.random.Generator, device: str | torch.device = "cpu") -> Batch:
        if self.offline is None or len(self.offline) == 0 or self.online_ratio >= 1.0:
            return self.online.sample(batch_size, rng, device)
        if len(self.online) == 0:
            return self.offline.sample(batch_size, rng, device)
        n_online = round(batch_size * self.online_ratio)
        return Batch.concat(
            [
                self.online.sample(n_online, rng, device),
                self.offline.sample(batch_size - n_online, rng, device),
            ]
        )

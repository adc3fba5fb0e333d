"""From any gymnasium observation to the learner's two inputs: a float state vector and uint8 images.

``ObsSpec`` is built from the observation space: Box observations are the state; in a Dict, every
3-D uint8 Box is a camera and every other Box is flattened into the state, in sorted key order.
``state_keys`` selects a subset of the non-image keys (flat names such as ``state.tcp_pose``) and
``cameras`` a subset of the cameras (``[]``: a state policy on an env that still renders its cameras, e.g.
for a reward classifier).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch


def flat_spaces(space: gym.Space, prefix: str = "") -> dict[str, gym.spaces.Box]:
    """Nested Dict space -> {"state.tcp_pose": Box, ...}; a Box becomes {"obs": Box}."""
    if isinstance(space, gym.spaces.Dict):
        out: dict[str, gym.spaces.Box] = {}
        for key, sub in space.spaces.items():
            out.update(flat_spaces(sub, f"{prefix}{key}."))
        return out
    if isinstance(space, gym.spaces.Box):
        return {prefix[:-1] if prefix else "obs": space}
    raise TypeError(f"observation space {space} is not a Box or Dict of Boxes; the learner cannot use it")


def is_image(box: gym.spaces.Box) -> bool:
    return box.dtype == np.uint8 and len(box.shape) == 3 and box.shape[-1] == 3


@dataclass
class ObsSpec:
    """Which flat keys form the state vector and which are cameras."""

    state_keys: list[str]
    image_keys: list[str]
    state_dim: int
    image_size: int | None = None
    spaces: dict[str, gym.spaces.Box] = field(default_factory=dict)

    @classmethod
    def from_space(
        cls, space: gym.Space, state_keys: list[str] | None = None, cameras: list[str] | None = None
    ) -> ObsSpec:
        spaces = flat_spaces(space)
        images = sorted(k for k, b in spaces.items() if is_image(b))
        if cameras is not None:
            names = {k.rsplit(".", 1)[-1]: k for k in images}
            unknown = [c for c in cameras if c not in names]
            if unknown:
                raise ValueError(
                    f"task.policy_cameras {unknown} are not in the observation; it has {sorted(names)}"
                )
            images = sorted(names[c] for c in cameras)
        vectors = sorted(k for k, b in spaces.items() if not is_image(b))
        if state_keys:
            unknown = [k for k in state_keys if k not in vectors]
            if unknown:
                raise ValueError(f"state_keys {unknown} are not in the observation; available: {vectors}")
            vectors = list(state_keys)
        if not vectors and not images:
            raise ValueError("the observation has neither state nor image entries")
        dim = int(sum(np.prod(spaces[k].shape) for k in vectors))
        sizes = {spaces[k].shape[0] for k in images}
        if len(sizes) > 1:
            raise ValueError(f"cameras have different sizes {sorted(sizes)}; resize them to one size")
        return cls(
            vectors, images, dim, sizes.pop() if sizes else None, {k: spaces[k] for k in vectors + images}
        )

    def batch_of_one(self, obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """The learner's keys of one flat observation as tensors with a batch dimension of 1."""
        return {k: torch.as_tensor(np.asarray(obs[k])[None]) for k in self.state_keys + self.image_keys}

    def storage_spaces(self) -> dict[str, gym.spaces.Box]:
        """What the replay buffer stores per frame: the state keys (float32) and the cameras (uint8)."""
        return self.spaces

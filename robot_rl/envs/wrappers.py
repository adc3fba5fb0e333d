"""Wrappers of the one interface, stacked only by ``robot_rl.envs.make.make_env`` (DESIGN.md's order)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.envs.interface import ACTION_DIM, ACTION_NAMES


class RestrictDoF(gym.ActionWrapper):
    """Expose only some action dimensions; the others are sent as 0 (no motion on that axis).

    ``RestrictDoF(env, [0, 1, 2, 6])`` gives a 4-D ``[dx, dy, dz, gripper]`` action (gym-hil's pick-cube
    set). The safety shield, inside it, reports the 7-D command it executed (``info["executed_action"]``).
    """

    def __init__(self, env: gym.Env, dims: list[int]) -> None:
        super().__init__(env)
        if not dims or sorted(set(dims)) != list(dims) or not all(0 <= d < ACTION_DIM for d in dims):
            raise ValueError(f"action_dims={dims} must be increasing indices into {list(ACTION_NAMES)}")
        self.dims = list(dims)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(len(dims),), dtype=np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (len(self.dims),):
            raise ValueError(
                f"action has shape {action.shape}, expected ({len(self.dims)},) for dims {self.dims}"
            )
        full = np.zeros(ACTION_DIM, dtype=np.float32)
        full[self.dims] = action
        return full

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        if info.get("intervene_action") is not None:  # an operator's 7-D action, in the policy's space
            info["intervene_action"] = self.restrict(info["intervene_action"])
        return obs, reward, terminated, truncated, info

    def restrict(self, full_action: np.ndarray) -> np.ndarray:
        """The policy-space part of a 7-D action (e.g. a demo's)."""
        return np.asarray(full_action, dtype=np.float32)[..., self.dims]


class GripperStay(gym.Wrapper):
    """Discrete gripper commands for HIL-SERL's gripper critic: the last action entry is -1 open,
    0 stay (repeat the last command sent, the operator's when they drove), +1 close. Episodes start
    with the gripper open."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.last_command = -1.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.last_command = -1.0
        return self.env.reset(**kwargs)

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        action = np.array(action, dtype=np.float32, copy=True)
        if action[-1] > 0.5:
            self.last_command = 1.0
        elif action[-1] < -0.5:
            self.last_command = -1.0
        action[-1] = self.last_command
        obs, reward, terminated, truncated, info = self.env.step(action)
        operator = info.get("intervene_action") if info.get("is_intervention") else None
        if operator is not None:  # the operator drove this step: "stay" keeps *their* gripper command
            self.last_command = 1.0 if float(operator[-1]) > 0.0 else -1.0
        return obs, reward, terminated, truncated, info


class BaseActionObservation(gym.Wrapper):
    """Adds the base policy's action to the observation as ``base_action`` (residual RL).

    ``policy(flat_obs) -> action`` sees the flattened observation (``robot_rl.data.layout.flatten_obs``)
    and answers in this env's action space; it is called once per step, on the observation the agent
    then acts on.
    """

    def __init__(self, env: gym.Env, policy: Any) -> None:
        super().__init__(env)
        from robot_rl.data.layout import flatten_obs

        self.policy, self.flatten = policy, flatten_obs
        if not isinstance(env.observation_space, gym.spaces.Dict):
            raise ValueError("BaseActionObservation needs a Dict observation space")
        self.observation_space = gym.spaces.Dict(
            {
                **env.observation_space.spaces,
                "base_action": gym.spaces.Box(-1.0, 1.0, env.action_space.shape, np.float32),
            }
        )

    def _with_base(self, obs: dict[str, Any]) -> dict[str, Any]:
        base = np.clip(np.asarray(self.policy(self.flatten(obs)), dtype=np.float32), -1.0, 1.0)
        return {**obs, "base_action": base}

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self._with_base(obs), info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._with_base(obs), reward, terminated, truncated, info

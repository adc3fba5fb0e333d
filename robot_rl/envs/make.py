"""``make_env``: the only place that builds an env and stacks its wrappers, in DESIGN.md's order.

Wrapper order, inner to outer: base env -> safety shield -> intervention -> reward classifier ->
DoF restriction / relative frame -> observation flattening -> time limit. Layers that are not yet
configured are skipped; the time limit always comes last.
"""

from __future__ import annotations

import gymnasium as gym

import robot_rl  # noqa: F401  (registers the ids)
from robot_rl.config import ConfigError, TaskConfig
from robot_rl.envs.wrappers import GripperStay, RestrictDoF


def make_env(
    task: TaskConfig, *, render_mode: str | None = None, gripper_stay: bool = False, **overrides
) -> gym.Env:
    """Build the task's env with its time limit; ``overrides`` replace constructor keywords.

    ``gripper_stay`` makes the last action entry a discrete open/stay/close command (gripper critic).
    """
    if task.env_id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("robot_rl/"))
        raise ConfigError(f"task.env_id={task.env_id!r} is not registered; known ids: {known}")
    kwargs = {**task.env_kwargs(), **overrides}
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    env = gym.make(task.env_id, disable_env_checker=True, **kwargs)
    if task.action_dims is not None:
        env = RestrictDoF(env, list(task.action_dims))
    if gripper_stay:
        env = GripperStay(env)
    return gym.wrappers.TimeLimit(env, max_episode_steps=task.max_episode_steps)

"""``make_env``: the only place that builds an env and stacks its wrappers, in DESIGN.md's order.

Wrapper order, inner to outer: base env -> safety shield -> intervention -> reward classifier ->
DoF restriction / relative frame -> observation flattening -> time limit. Layers that are not yet
configured are skipped; the time limit always comes last.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

import robot_rl  # noqa: F401  (registers the ids)
from robot_rl.config import ConfigError, TaskConfig
from robot_rl.envs.classifier_reward import ClassifierReward, SuccessClassifier
from robot_rl.envs.intervention import Intervention, Operator, check_reward_source
from robot_rl.envs.wrappers import BaseActionObservation, GripperStay, RestrictDoF
from robot_rl.safety.config import SafetyConfig
from robot_rl.safety.shield import SafetyShield


def make_env(
    task: TaskConfig,
    *,
    render_mode: str | None = None,
    gripper_stay: bool = False,
    safety: SafetyConfig | None = None,
    base_policy: Callable | None = None,
    base_action: Callable | None = None,
    operator: Operator | None = None,
    intervention_mode: str | None = None,
    reward_classifier: SuccessClassifier | None = None,
    classifier_ends_episode: bool = True,
    **overrides,
) -> gym.Env:
    """Build the task's env with its time limit; ``overrides`` replace constructor keywords.

    ``gripper_stay`` makes the last action entry a discrete open/stay/close command (gripper critic).
    ``safety`` (enabled) puts the ``SafetyShield`` right around the base env; ``base_policy`` serves its
    ``base_policy`` backup. ``base_action`` (residual RL: ``policy(flat_obs) -> action``) adds that
    policy's action to the observation. ``operator`` (a teleop device or simulated intervener) takes
    over from the policy while it holds control (``Intervention``, ``intervention_mode`` hil_serl/rlif).
    ``reward_classifier`` replaces the task's reward with a learned success classifier's; the env's own
    success then never ends an episode behind the classifier's back.
    """
    check_reward_source(intervention_mode, reward_classifier)
    if task.env_id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("robot_rl/"))
        raise ConfigError(f"task.env_id={task.env_id!r} is not registered; known ids: {known}")
    kwargs = {**task.env_kwargs(), **overrides}
    if reward_classifier is not None and "terminate_on_success" in kwargs:
        kwargs["terminate_on_success"] = False  # only the classifier's verdict may end an episode
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        # The registered limit (100) would cut a longer task.max_episode_steps short from inside.
        limit = task.max_episode_steps
        env = gym.make(task.env_id, disable_env_checker=True, max_episode_steps=limit, **kwargs)
    except TypeError as err:
        if "randomization" not in str(err):
            raise
        raise ConfigError(
            f"{task.env_id} has no domain randomization (only the MuJoCo tasks do); drop the dr= setting"
        ) from None
    if safety is not None and safety.enabled:
        env = SafetyShield(env, safety, base_policy=base_policy, risk_monitor=risk_monitor(safety))
    if operator is not None:
        env = Intervention(env, operator, intervention_mode or "hil_serl")
    if reward_classifier is not None:
        env = ClassifierReward(env, reward_classifier, classifier_ends_episode)
    if task.action_dims is not None:
        env = RestrictDoF(env, list(task.action_dims))
    if gripper_stay:
        env = GripperStay(env)
    if base_action is not None:
        env = BaseActionObservation(env, base_action)
    return gym.wrappers.TimeLimit(env, max_episode_steps=task.max_episode_steps)


def risk_monitor(safety: SafetyConfig):
    """The configured self-trained monitor; ``ensemble`` is attached by the trainer (it needs the agent)."""
    if safety.risk_monitor == "safety_critic":
        from robot_rl.safety.risk import SafetyCritic

        return SafetyCritic(gamma=safety.risk_horizon_gamma)
    return None

"""Interventions: the operator's action replaces the policy's, the learner stores what was executed,
HIL-SERL also feeds the demo buffer, RLIF rewards only the take-overs, the simulated intervener follows
its protocol."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.agents.sac import SACConfig
from robot_rl.config import load_config, task_config
from robot_rl.distributed.learner import Learner
from robot_rl.envs.intervention import Intervention, InterventionTally
from robot_rl.envs.make import make_env
from robot_rl.envs.point_mass import PointMassEnv
from robot_rl.loop import TrainConfig, Trainer
from sim.experts import make_expert
from sim.intervener import IntervenerConfig, SimulatedIntervener


class StepsOperator:
    """Holds control on the given step numbers of each episode (0-based), commanding ``action``."""

    def __init__(self, steps: set[int], action: np.ndarray) -> None:
        self.steps, self.action, self.t = steps, np.asarray(action, np.float32), 0

    def reset(self) -> None:
        self.t = 0

    def command(self, obs, proposed_action):
        self.t += 1
        return self.action if self.t - 1 in self.steps else None


def point_mass(operator=None, intervention_mode=None, render_mode=None) -> gym.Env:
    env: gym.Env = PointMassEnv()
    if operator is not None:
        env = Intervention(env, operator, intervention_mode)
    return gym.wrappers.TimeLimit(env, max_episode_steps=20)


@pytest.mark.parametrize("mode", ["hil_serl", "rlif"])
def test_operator_action_is_executed_and_rewards_follow_the_mode(mode) -> None:
    operator = StepsOperator({2, 3, 4, 8}, [1.0, 0.0])
    env = Intervention(PointMassEnv(goal_radius=0.0, dense=True), operator, mode)
    obs, _ = env.reset(seed=0)
    flags, rewards = [], []
    for _ in range(10):
        before = obs[:2].copy()
        obs, reward, _, _, info = env.step(np.array([0.0, -1.0], np.float32))
        flags.append(info["is_intervention"])
        rewards.append(reward)
        if info["is_intervention"]:
            np.testing.assert_allclose(info["intervene_action"], [1.0, 0.0])
            moved = obs[:2] - before  # the operator's +x, not the policy's -y (unless at the wall)
            assert moved[1] == 0.0 and (moved[0] > 0 or before[0] >= 0.999)
        else:
            assert info["intervene_action"] is None
    assert flags == [False, False, True, True, True, False, False, False, True, False]
    if mode == "rlif":  # -1 exactly where the operator took over, the task reward ignored
        assert rewards == [0, 0, -1, 0, 0, 0, 0, 0, -1, 0]
    else:  # the dense task reward is kept
        assert all(r < 0 for r in rewards)


def test_restrict_dof_reports_the_operator_action_in_the_policy_space() -> None:
    task = task_config(load_config("train", ["task=pick_cube"]).task)
    full = np.array([0.5, -0.5, 0.2, 0.9, 0.9, 0.9, 1.0], np.float32)
    env = make_env(task, operator=StepsOperator({0}, full), intervention_mode="hil_serl")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(4, np.float32))
    assert info["is_intervention"]
    np.testing.assert_allclose(info["intervene_action"], full[[0, 1, 2, 6]])
    env.close()


def transitions(buffer, slots) -> np.ndarray:
    """(obs, next obs) of the transitions at ``slots``, side by side."""
    frames = buffer.frames["obs"]
    return np.concatenate([frames[slots], frames[(np.asarray(slots) + 1) % buffer.capacity]], axis=1)


def trainer(tmp_path, mode: str | None, operator=None, to_demos: bool | None = None) -> Trainer:
    cfg = TrainConfig(
        total_env_steps=60, learning_starts=1000, eval_every=0, eval_episodes=1, video_episodes=0
    )
    agent = SACConfig(num_critics=2, hidden_dims=[16, 16])
    return Trainer(
        point_mass,
        agent,
        cfg,
        tmp_path,
        intervention_mode=mode,
        operator=operator,
        interventions_to_demos=to_demos,
    )


@pytest.mark.parametrize(("mode", "to_demos"), [("hil_serl", None), ("rlif", True)])
def test_intervened_transitions_join_the_demo_buffer_as_separate_chains(tmp_path, mode, to_demos) -> None:
    """HIL-SERL always; RLIF with intervention.to_demos=true."""
    # the point mass moves every step, so a stretch started from another's last frame would show
    operator = StepsOperator({3, 4, 5, 10, 11}, [0.25, -0.25])
    run = trainer(tmp_path, mode, operator, to_demos)
    run.run()
    online, offline = run.online, run.offline
    assert len(online) == 60 + (6 if mode == "rlif" else 0)  # RLIF: a refused proposal per take-over
    if mode == "rlif":
        assert np.all(offline.rewards[offline.valid] == 0.0)  # the -1 is the refused proposal's, online
    mine = [i for i in np.flatnonzero(online.valid) if np.allclose(online.actions[i], [0.25, -0.25])]
    theirs = np.flatnonzero(offline.valid)
    assert len(theirs) == len(offline) == len(mine) > 0
    # the same transitions, each stretch its own chain: a stretch never starts from another's last frame
    np.testing.assert_array_equal(transitions(offline, theirs), transitions(online, mine))
    # a resumed run restores the demo buffer that grew with interventions
    path = run.save("mid")
    again = trainer(tmp_path / "again", mode, StepsOperator(set(), [0, 0]), to_demos)
    again.resume(path)
    np.testing.assert_array_equal(again.offline.valid, offline.valid)


def test_rlif_stores_each_refused_proposal_as_a_terminal_minus_one(tmp_path) -> None:
    run = trainer(tmp_path, "rlif", StepsOperator({0, 5, 6, 12}, [0.5, 0.5]))
    run.run()
    online = run.online
    assert run.offline is None  # RLIF keeps no demo buffer of its own
    slots = np.flatnonzero(online.valid)
    refused = slots[online.rewards[slots] == -1.0]
    executed = slots[online.rewards[slots] != -1.0]
    assert len(executed) == 60 and len(refused) == 9  # take-overs at steps 0, 5 and 12 of 3 episodes
    assert online.terminated[refused].all()  # for the policy, its refused action ended in the take-over
    assert not np.any(np.all(np.isclose(online.actions[refused], [0.5, 0.5]), axis=1))  # the policy's own
    # each refused proposal is followed by the operator's step from the same state, rewarded 0
    following = refused + 2
    np.testing.assert_array_equal(online.frames["obs"][following], online.frames["obs"][refused])
    np.testing.assert_allclose(online.actions[following], np.tile([0.5, 0.5], (9, 1)))
    assert np.all(online.rewards[following] == 0.0)


def test_learner_stores_actor_interventions_like_the_single_process_loop(tmp_path) -> None:
    learner = Learner(trainer(tmp_path, "hil_serl"), server=None)

    def item(t: float, first: bool, intervened: bool, done: bool = False) -> dict:
        frame, next_frame = {"obs": np.full(4, t, np.float32)}, {"obs": np.full(4, t + 1, np.float32)}
        return {"obs": frame, "action": np.full(2, t, np.float32), "reward": 0.0, "next_obs": next_frame,
                "terminated": False, "truncated": done, "first": first, "success": False,
                "is_intervention": intervened}  # fmt: skip

    learner.store("a", [item(0, True, False), item(1, False, True), item(2, False, True)])
    learner.store("b", [item(100, True, True)])  # another actor's stretch is its own chain
    learner.store("a", [item(3, False, False), item(4, False, True, done=True)])
    offline = learner.trainer.offline
    slots = np.flatnonzero(offline.valid)
    got = transitions(offline, slots)[:, [0, 4]]
    np.testing.assert_array_equal(got, [[1, 2], [2, 3], [100, 101], [4, 5]])


def test_tally_counts_takeovers_and_the_intervened_share() -> None:
    tally = InterventionTally()
    for flag in [False, True, True, False, True, False, False, False]:
        tally.add(flag)
    assert tally.end_episode() == {"count": 2.0, "rate": 3 / 8}
    assert tally.end_episode() == {"count": 0.0, "rate": 0.0}


def test_simulated_intervener_takes_over_for_its_hold_steps_when_the_policy_disagrees() -> None:
    task = task_config(load_config("train", ["task=pick_cube"]).task)
    expert = make_expert(task.expert, task.action_scale)
    cfg = IntervenerConfig(threshold=0.5, smoothing=1.0, hold_steps=3, aim_error=0.0)
    intervener = SimulatedIntervener(expert, cfg, task.action_dims)
    env = make_env(task)
    obs, _ = env.reset(seed=3)
    agree = expert.act(obs)
    assert intervener.command(obs, agree) is None  # the policy does what it would: no take-over
    wrong = agree.copy()
    wrong[[0, 1, 2, 6]] = -agree[[0, 1, 2, 6]] + np.sign(-agree[[0, 1, 2, 6]] + 1e-3)
    commands = [intervener.command(obs, wrong if i == 0 else agree) for i in range(5)]
    assert [c is not None for c in commands] == [True, True, True, False, False]
    np.testing.assert_allclose(commands[0], agree, atol=1e-6)  # no aim error: exactly the expert
    # A zero-mean exploration jitter around the expert's action is no reason to take over once the gap
    # is averaged (the default smoothing); judged step by step, the same jitter would trip it.
    rng = np.random.default_rng(0)
    jitter = [agree + np.r_[rng.normal(0, 1.0, 3), np.zeros(4)].astype(np.float32) for _ in range(50)]
    for smoothing, takeovers in ((0.3, 0), (1.0, 1)):
        settings = IntervenerConfig(threshold=0.8, smoothing=smoothing, hold_steps=1, aim_error=0.0)
        judge = SimulatedIntervener(expert, settings, task.action_dims)
        taken = sum(judge.command(obs, proposal) is not None for proposal in jitter)
        assert (taken >= 3) if takeovers else (taken == 0)


def test_the_intervener_judges_against_the_truth_but_acts_on_its_misjudgement() -> None:
    """RLIF's premise: telling a wrong move is easier than making the right one. By default a policy doing
    what the expert does on the true positions is never taken over, however wrong the intervener's own
    aim; judged against its own plan (judges_truly=false), the same policy is."""
    task = task_config(load_config("train", ["task=pick_cube"]).task)
    expert = make_expert(task.expert, task.action_scale)
    env = make_env(task)
    obs, _ = env.reset(seed=3)
    for _ in range(15):  # the expert brings the gripper down to the cube, where a 5 cm misjudgement shows
        obs = env.step(expert.act(obs)[task.action_dims])[0]
    right = expert.act(obs)
    for judges_truly, taken in ((True, False), (False, True)):
        settings = IntervenerConfig(threshold=0.5, smoothing=1.0, judges_truly=judges_truly)
        intervener = SimulatedIntervener(expert, settings, task.action_dims)
        intervener.offset = np.array([0.05, 0.0])
        assert (intervener.command(obs, right) is not None) == taken
        assert not np.allclose(intervener.act(obs), right)  # it would act on the misjudged position
    env.close()


def test_simulated_intervener_misjudges_object_positions_once_per_episode() -> None:
    task = task_config(load_config("train", ["task=pick_cube"]).task)
    expert = make_expert(task.expert, task.action_scale)
    intervener = SimulatedIntervener(expert, IntervenerConfig(aim_error=0.02), task.action_dims)
    env = make_env(task)
    obs, _ = env.reset(seed=3)
    offsets = []
    for _ in range(3):
        intervener.reset()
        first = intervener.act(obs)
        np.testing.assert_array_equal(intervener.act(obs), first)  # the same misjudgement all episode
        offsets.append(intervener.offset.copy())
    assert len({tuple(o) for o in offsets}) == 3 and all(0.0 < np.abs(o).max() < 0.1 for o in offsets)
    env.close()

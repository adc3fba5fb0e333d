"""Domain randomization of the MuJoCo tasks (sim/randomization.py): off by default, seeded, applied to the
model from its nominal values each episode, reported in info, and a latency that really delays."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.config import ConfigError, load_config, task_config, task_on_target
from robot_rl.envs.make import make_env

RANDOM = {"enabled": True, "object_mass_scale": [0.5, 3.0], "object_friction_scale": [0.4, 1.5],
          "controller_gain_scale": [0.6, 1.4], "camera_pos_offset_m": [-0.03, 0.03]}  # fmt: skip


def pick_cube(**randomization) -> gym.Env:
    return gym.make(
        "robot_rl/PandaPickCube-v0", disable_env_checker=True, randomization=randomization or None
    )


def test_off_by_default_and_the_same_seed_gives_the_same_start_with_or_without_it() -> None:
    plain, randomized = pick_cube(), pick_cube(**RANDOM)
    _, info = plain.reset(seed=3)
    assert "randomization" not in info
    _, info = randomized.reset(seed=3)
    assert set(info["randomization"]) >= {"object_mass_scale", "action_latency_steps", "camera_pos_offset_m"}
    cube = plain.unwrapped.model.joint("cube").qposadr[0]
    np.testing.assert_allclose(plain.unwrapped.data.qpos[cube : cube + 2],
                               randomized.unwrapped.data.qpos[cube : cube + 2], atol=1e-6)  # fmt: skip


def test_draws_are_seeded_applied_from_nominal_and_reported_on_every_step() -> None:
    env = pick_cube(**RANDOM)
    model = env.unwrapped.model
    cube = model.body("cube").id
    nominal_mass, nominal_kp = model.body_mass[cube], model.actuator_gainprm[0, 0]
    nominal_cam = model.cam_pos.copy()
    _, first = env.reset(seed=1)
    _, again = env.reset(seed=1)
    _, other = env.reset(seed=2)
    assert first["randomization"] == again["randomization"] != other["randomization"]
    values = other["randomization"]
    assert model.body_mass[cube] == pytest.approx(nominal_mass * values["object_mass_scale"])
    assert model.actuator_gainprm[0, 0] == pytest.approx(nominal_kp * values["controller_gain_scale"])
    assert model.actuator_biasprm[0, 1] == pytest.approx(-model.actuator_gainprm[0, 0])
    np.testing.assert_allclose(model.cam_pos, nominal_cam + values["camera_pos_offset_m"])
    *_, info = env.step(np.zeros(7, dtype=np.float32))
    assert info["randomization"] == values
    env.reset(seed=1)  # a new draw starts from the nominal model, not from the last episode's
    assert model.body_mass[cube] == pytest.approx(nominal_mass * first["randomization"]["object_mass_scale"])


def test_action_latency_executes_each_action_that_many_steps_later() -> None:
    push = np.array([1, 0, 0, 0, 0, 0, -1], dtype=np.float32)
    x = {}
    for latency in (0, 1):
        env = pick_cube(action_latency_steps=[latency, latency], enabled=True)
        obs, _ = env.reset(seed=0)
        start = obs["state"]["tcp_pose"][0]
        steps = [env.step(push)[0]["state"]["tcp_pose"][0] - start for _ in range(2)]
        x[latency] = steps
    assert x[0][0] > 0.02  # without latency the first step moves ~3 cm
    assert abs(x[1][0]) < 0.002  # with one step of latency the arm holds still first
    assert x[1][1] == pytest.approx(x[0][0], abs=0.003)  # ... and makes the first move one step later


def test_latency_keeps_the_peg_gripped_before_the_first_action_arrives() -> None:
    """The queue's filler is the task's hold: on peg insertion, fingers on the peg (not wide open)."""
    env = gym.make("robot_rl/PandaPegInsert-v0", disable_env_checker=True,
                   randomization={"enabled": True, "action_latency_steps": [2, 2]})  # fmt: skip
    env.reset(seed=0)
    for _ in range(2):  # both steps execute the filler: fingers close to the 20 mm peg (0.25 of open)
        obs, *_ = env.step(np.zeros(7, np.float32))
        assert obs["state"]["gripper_pos"][0] < 0.35


def test_shifted_preset_from_config_and_bad_settings_name_the_key() -> None:
    task = task_config(load_config("train", ["dr=shifted"]).task)
    env = make_env(task)
    _, info = env.reset(seed=0)
    values = info["randomization"]
    assert (values["object_mass_scale"], values["object_friction_scale"], values["action_latency_steps"]) == (
        2.0, 0.5, 1,
    )  # fmt: skip
    assert task_config(load_config("train", []).task).randomization == {"enabled": False}
    with pytest.raises(ConfigError, match="object_mas"):
        pick_cube(enabled=True, object_mas_scale=[1, 2])
    with pytest.raises(ConfigError, match="low <= high"):
        pick_cube(enabled=True, object_mass_scale=[2, 1])


def test_a_dr_preset_given_to_eval_or_deploy_replaces_the_runs_randomization() -> None:
    """dr=shifted on a policy trained with dr=default is the shifted env, not shifted plus default ranges."""
    trained = task_config(load_config("train", ["task=pick_cube", "dr=default"]).task)
    assert trained.randomization["controller_gain_scale"] == [0.6, 1.4]
    shifted = load_config("deploy", ["dr=shifted"]).task
    on_shifted = task_on_target(trained, shifted)
    assert on_shifted.randomization == dict(load_config("train", ["dr=shifted"]).task.randomization)
    assert "controller_gain_scale" not in on_shifted.randomization
    assert not task_on_target(trained, load_config("deploy", ["dr=none"]).task).randomization["enabled"]
    assert task_on_target(trained, {}).randomization == trained.randomization  # no dr=: the run's own
    latency = task_on_target(trained, {"randomization": {"action_latency_steps": [2, 2]}})  # a field alone
    assert latency.randomization == {"enabled": True, "action_latency_steps": [2, 2]}
    assert latency.env_kwargs()["randomization"] == latency.randomization
    longer = task_on_target(trained, {"max_episode_steps": 300})  # other task overrides merge as before
    assert longer.max_episode_steps == 300 and longer.randomization == trained.randomization

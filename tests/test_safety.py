"""The safety layer: each shield layer alone, the backups, the risk monitor, and the shield on the real
MuJoCo tasks (box kept under adversarial commands, a jammed peg trips the force limit)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robot_rl  # noqa: F401  (registers the ids)
from robot_rl.errors import ConfigError
from robot_rl.safety.backup import GoHome, Hold, Retreat
from robot_rl.safety.config import SafetyConfig
from robot_rl.safety.conservative import ConservativeMixer
from robot_rl.safety.layers import (
    DeltaLimit,
    MeasuredLimits,
    Pose,
    VelocityLimit,
    WorkspaceBox,
    clip_action,
)
from robot_rl.safety.risk import SafetyCritic
from robot_rl.safety.shield import EStopLatched, SafetyShield

DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # fingers down (wxyz)
SCALE = np.array([0.03, 0.15])


def pose(pos=(0.5, 0.0, 0.3), quat=DOWN, period=0.1) -> Pose:
    return Pose(np.array(pos, dtype=np.float64), np.array(quat, dtype=np.float64), SCALE, period)


# ------------------------------------------------------------------------------------------ layers
def test_clip_refuses_nan_and_wrong_shapes_and_clips_range() -> None:
    with pytest.raises(ValueError, match="NaN"):
        clip_action(np.array([0, 0, np.nan, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="shape"):
        clip_action(np.zeros(4))
    action, reasons = clip_action(np.array([3.0, 0, 0, 0, 0, 0, -2.0]))
    assert action[0] == 1.0 and action[6] == -1.0 and reasons


def test_delta_limit_caps_the_norm_of_the_step() -> None:
    layer = DeltaLimit(max_step_m=0.03, max_step_rad=0.1)
    action, reasons = layer(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]), pose())
    assert np.linalg.norm(action[:3] * SCALE[0]) == pytest.approx(0.03)
    assert np.linalg.norm(action[3:6] * SCALE[1]) == pytest.approx(0.1)
    assert action[6] == 0.5 and len(reasons) == 2
    same, none = layer(np.array([0.5, 0, 0, 0, 0, 0, 0]), pose())
    assert none == [] and same[0] == 0.5


def test_velocity_limit_depends_on_the_control_period() -> None:
    layer = VelocityLimit(max_speed=0.5, max_rot_speed=1.0)
    action = np.array([1.0, 0, 0, 0, 0, 0, 0])
    assert layer(action, pose(period=0.1))[0][0] == 1.0  # 0.03 m in 0.1 s = 0.3 m/s: fine
    fast, reasons = layer(action, pose(period=0.02))  # 0.03 m in 20 ms = 1.5 m/s: capped to 0.5
    assert fast[0] * SCALE[0] / 0.02 == pytest.approx(0.5) and reasons


def test_workspace_box_clips_position_and_orientation_targets() -> None:
    box = WorkspaceBox([0.3, -0.2, 0.05], [0.7, 0.2, 0.5], DOWN, np.array([0.3, 0.3, 0.5]))
    action, reasons = box(np.array([0, 0, -1.0, 0, 0, 0, 0]), pose(pos=(0.5, 0.0, 0.06)))
    assert 0.06 + action[2] * SCALE[0] == pytest.approx(0.05) and "z" in reasons[0]
    inside, none = box(np.array([0.5, -0.5, 0.5, 0, 0, 0, 1]), pose())
    assert none == [] and np.allclose(inside[:3], [0.5, -0.5, 0.5])
    # Near the rotation limit about x, a further turn about x is cut back to the limit.
    from robot_rl.geometry import quat_error, quat_from_rotvec, quat_mul

    tilted = quat_mul(quat_from_rotvec(np.array([0.28, 0.0, 0.0])), DOWN)
    action, reasons = box(np.array([0, 0, 0, 1.0, 0, 0, 0]), pose(quat=tilted))
    target = quat_mul(quat_from_rotvec(action[3:6] * SCALE[1]), tilted)
    assert np.abs(quat_error(target, DOWN))[0] == pytest.approx(0.3, abs=1e-6) and reasons


def test_measured_limits_name_their_trigger() -> None:
    limits = MeasuredLimits(np.full(7, 2.0), max_force_n=30.0, max_torque_nm=3.0)
    calm = {"joint_vel": np.zeros(7), "tcp_wrench": np.array([0, 0, -7.0, 0, 0, 0])}
    tare = calm["tcp_wrench"].copy()
    assert limits.triggers(calm, tare) == {}
    fast = {**calm, "joint_vel": np.array([0, 0, 0, 2.5, 0, 0, 0])}
    assert "joint 4" in limits.triggers(fast, tare)["joint_velocity"]
    pushed = {**calm, "tcp_wrench": np.array([0, 0, 40.0, 0, 0, 0])}
    assert "force" in limits.triggers(pushed, tare)["force"]


# ------------------------------------------------------------------------------------------ backups
def test_backups_hold_retreat_and_go_home() -> None:
    start = pose(pos=(0.5, 0.0, 0.3))
    hold = Hold().act({}, start, gripper=0.7)
    assert np.all(hold[:6] == 0) and hold[6] == 0.7

    retreat = Retreat(distance_m=0.03)
    retreat.reset(start)
    for _ in range(3):
        retreat.record(np.array([0, 0, -1.0, 0, 0, 0, 1]))  # approaching downwards
    back = retreat.act({}, start, gripper=1.0)
    assert back[2] == pytest.approx(1.0) and np.allclose(back[:2], 0)
    fresh = Retreat(0.03)
    fresh.reset(start)
    assert fresh.act({}, start, 0.0)[2] > 0  # no approach known: straight up

    home = GoHome(step_m=0.02)
    home.reset(start)
    away = pose(pos=(0.6, 0.0, 0.3))
    step = home.act({}, away, gripper=-1.0)
    assert step[0] * SCALE[0] == pytest.approx(-0.02)


# ------------------------------------------------------------------------------------------ learned monitors
def test_safety_critic_learns_where_violations_follow() -> None:
    critic = SafetyCritic(gamma=0.5, train_every=10_000, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):  # episodes of 10 steps: pushing up (+1) from a high state trips the limit
        for t in range(10):
            z = rng.uniform(0, 1)
            push = rng.choice([-1.0, 1.0])
            obs = {"state": {"tcp_pose": np.array([0, 0, z, 1, 0, 0, 0], np.float32)}}
            violated = z > 0.8 and push > 0
            critic.observe(obs, np.array([0, 0, push, 0, 0, 0, 0], np.float32), violated, t == 9)
    for _ in range(30):
        critic.train()
    high = {"state": {"tcp_pose": np.array([0, 0, 0.95, 1, 0, 0, 0], np.float32)}}
    low = {"state": {"tcp_pose": np.array([0, 0, 0.2, 1, 0, 0, 0], np.float32)}}
    up, down = np.array([0, 0, 1.0, 0, 0, 0, 0]), np.array([0, 0, -1.0, 0, 0, 0, 0])
    assert critic.risk(high, up) > 0.7
    assert critic.risk(high, down) < 0.3 and critic.risk(low, up) < 0.3


def test_a_time_limited_episode_ends_in_the_safety_critic_at_the_reset() -> None:
    """The TimeLimit wraps the shield, so its truncation never reaches observe(): the reset closes the
    episode, and a later violation labels only its own episode's steps."""
    critic = SafetyCritic(gamma=0.9, train_every=10_000, seed=0)
    arm = gym.make("robot_rl/PandaPickCube-v0", disable_env_checker=True)
    env = gym.wrappers.TimeLimit(SafetyShield(arm, SafetyConfig(), risk_monitor=critic), max_episode_steps=5)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(np.zeros(7, np.float32))
    assert len(critic.episode) == 5 and critic.size == 0
    env.reset(seed=1)
    assert critic.episode == [] and critic.size == 5
    assert np.all(critic.targets[:5] == 0.0)  # a safe episode, stored as one


def test_a_drivers_joint_speed_limits_are_its_robots() -> None:
    """configs/driver.yaml: the shield's joint-speed limits come from the robot profile (a 6-joint UR5e
    used to get the Panda's 7 and fail on its first state); a safety override still tightens them."""
    from robot_rl.config import load_config
    from robot_rl.safety.config import safety_config

    for robot, joints in (("fr3", 7), ("ur5e", 6)):
        safety = safety_config(load_config("driver", [f"robot={robot}"]))
        limits = MeasuredLimits(np.asarray(safety.max_joint_vel), safety.max_force_n, safety.max_torque_nm)
        assert limits.triggers({"joint_vel": np.zeros(joints)}, None) == {}
        assert "joint_velocity" in limits.triggers({"joint_vel": np.full(joints, 4.0)}, None)
    tight = safety_config(load_config("driver", ["robot=ur5e", "safety.max_joint_vel=[1,1,1,1,1,1]"]))
    assert tight.max_joint_vel == [1.0] * 6


def test_conservative_mixer_keeps_expected_return_above_the_floor() -> None:
    mixer = ConservativeMixer(floor=0.8, min_learner_prob=0.05, seed=0)
    assert mixer.learner_prob() == 0.05  # baseline unmeasured
    for _ in range(20):
        mixer.record("baseline", 1.0)
        mixer.record("learner", 0.0)
    p = mixer.learner_prob()
    assert p * 0.0 + (1 - p) * 1.0 >= 0.8 - 1e-9 and p == pytest.approx(0.2)
    for _ in range(20):
        mixer.record("learner", 0.9)
    assert mixer.learner_prob() == 1.0
    with pytest.raises(ValueError, match="floor"):
        ConservativeMixer(floor=1.5)


def test_bad_safety_config_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="risk_monitor"):
        SafetyConfig(risk_monitor="magic").check()
    with pytest.raises(ConfigError, match="backups"):
        SafetyConfig(backups={"force": "pray"}).check()


# ---------------------------------------------------------------------------------- the shield on MuJoCo
def shielded(env_id: str, **cfg) -> SafetyShield:
    return SafetyShield(gym.make(env_id, disable_env_checker=True), SafetyConfig(**cfg))


def test_shield_keeps_the_arm_in_its_box_under_adversarial_commands() -> None:
    # The shield's box is the task's box shrunk by 2 cm, the margin that absorbs tracking error: the arm
    # itself must then never leave the task's box.
    env = shielded("robot_rl/PandaPickCube-v0", workspace_margin_m=0.02)
    task_box = WorkspaceBox(env.box.low - 0.02, env.box.high + 0.02, DOWN, np.ones(3))
    rng = np.random.default_rng(0)
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        for t in range(100):
            if t % 25 == 0:  # saturate towards a random corner, rotating as hard as possible
                corner = rng.choice([-1.0, 1.0], size=6)
            obs, _, terminated, truncated, info = env.step(np.append(corner * 5.0, 1.0).astype(np.float32))
            target = info["executed_action"][:3] * env.action_scale[0]
            assert task_box.contains(obs["state"]["tcp_pose"][:3], tol=0.001), obs["state"]["tcp_pose"]
            assert np.all(np.abs(info["executed_action"]) <= 1.0)
            assert np.linalg.norm(target) <= 0.06 + 1e-6
            if terminated or truncated:
                break
    assert env.summary().get("workspace", 0) > 0  # the box was actually pushed against


def test_jammed_peg_trips_the_force_limit_and_the_backup_engages_within_one_period() -> None:
    env = shielded("robot_rl/PandaPegInsert-v0")
    obs, _ = env.reset(seed=0)
    push = np.array([0, 0, -1.0, 0, 0, 0, 1.0], np.float32)
    beside_hole = obs["privileged"]["hole_pos"][:2] + np.array([0.03, 0.0])  # the peg lands on the block
    for _ in range(10):
        offset = beside_hole - obs["state"]["tcp_pose"][:2]
        obs, *_ = env.step(np.append(np.clip(offset / 0.03, -1, 1), [0, 0, 0, 0, 1.0]).astype(np.float32))
    tripped_at = None
    for t in range(60):
        obs, _, _, _, info = env.step(push)
        layers = {e["layer"] for e in info["safety"]}
        if tripped_at is None and env.measured.triggers(obs["state"], env._tare).get("force"):
            tripped_at = t
        elif tripped_at is not None:
            assert "force" in layers, f"the force trip at step {tripped_at} was not acted on at step {t}"
            assert info["executed_action"][2] > 0, "the backup must back off (retreat), not push on"
            assert info["proposed_action"][2] < 0 and info["shielded"]
            break
    assert tripped_at is not None, "pushing the peg into the block never reached the force limit"


def test_a_tighter_shield_rotation_box_bounds_the_envs_own_orientation_target() -> None:
    """The env turns its previous target (not the measured pose the shield checks): with the arm held
    back, the target must still stay within the shield's rotation box."""
    from robot_rl.geometry import quat_error

    env = shielded("robot_rl/PandaPickCube-v0", rotation_limit=[0.1, 0.1, 0.1])
    env.reset(seed=0)
    target = env.unwrapped.tcp_target
    for _ in range(20):
        env.step(np.array([0, 0, 0, 0, 0, 1, -1], np.float32))
    assert np.all(np.abs(quat_error(target.quat, target.home_quat)) <= 0.1 + 1e-6)


def test_shield_refuses_nan_without_stepping_the_simulation() -> None:
    env = shielded("robot_rl/PandaPickCube-v0")
    env.reset(seed=0)
    sim_time = env.unwrapped.data.time
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.full(7, np.nan, np.float32))
    assert env.unwrapped.data.time == sim_time
    assert env.trips[-1]["layer"] == "clip" and "refused" in env.trips[-1]["reason"]


def test_a_non_finite_measured_pose_holds_the_arm_instead_of_failing() -> None:
    """A sensor glitch (NaN in the measured TCP pose) must not turn into a NaN command or an exception."""

    class Glitch(gym.ObservationWrapper):
        broken = False

        def observation(self, obs):
            if self.broken:
                obs["state"]["tcp_pose"] = np.full_like(obs["state"]["tcp_pose"], np.nan)
            return obs

    glitchy = Glitch(gym.make("robot_rl/PandaPickCube-v0", disable_env_checker=True))
    env = SafetyShield(glitchy, SafetyConfig())
    env.reset(seed=0)
    glitchy.broken = True
    env.step(np.array([1, 0, 0, 0, 0, 0, -1], np.float32))  # this observation comes back broken
    _, _, _, _, info = env.step(np.array([1, 0, 0, 0, 0, 0, -1], np.float32))
    assert np.all(info["executed_action"][:6] == 0) and np.all(np.isfinite(info["executed_action"]))
    assert "measurement" in {e["layer"] for e in info["safety"]}


def test_estop_latches_until_released() -> None:
    env = shielded("robot_rl/PandaPickCube-v0")
    obs, _ = env.reset(seed=0)
    env.estop("test")
    start = obs["state"]["tcp_pose"][:3].copy()
    for _ in range(5):
        obs, *_ = env.step(np.array([1, 1, 1, 0, 0, 0, 0], np.float32))
    assert np.linalg.norm(obs["state"]["tcp_pose"][:3] - start) < 0.003
    sim_time = env.unwrapped.data.time
    with pytest.raises(EStopLatched, match="release it first"):  # a reset would drive the arm home
        env.reset(seed=1)
    assert env.estopped and env.unwrapped.data.time == sim_time  # nothing was reset
    env.release_estop()
    obs, _ = env.reset(seed=1)
    before = obs["state"]["tcp_pose"][:3].copy()
    obs, *_ = env.step(np.array([1, 0, 0, 0, 0, 0, 0], np.float32))
    assert obs["state"]["tcp_pose"][0] - before[0] > 0.01


def test_risk_monitor_hands_control_to_its_backup() -> None:
    class Alarmed:
        steps = 10_000  # past warm-up

        def risk(self, obs, action) -> float:
            return 0.9 if action[0] > 0.5 else 0.0

    env = SafetyShield(
        gym.make("robot_rl/PandaPickCube-v0", disable_env_checker=True),
        SafetyConfig(risk_monitor="safety_critic", risk_threshold=0.5),
        risk_monitor=Alarmed(),
    )
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1.0, 0, 0, 0, 0, 0, -1], np.float32))
    assert "risk" in {e["layer"] for e in info["safety"]}
    assert np.all(info["executed_action"][:6] == 0) and info["proposed_action"][0] == 1.0  # held
    calm = np.array([0.3, 0, 0, 0, 0, 0, -1], np.float32)  # no risk: the trigger clears
    held = [np.all(env.step(calm)[-1]["executed_action"][:6] == 0) for _ in range(8)]
    assert held == [True] * env.cfg.backup_steps + [False] * (8 - env.cfg.backup_steps)


def test_trainer_attaches_the_critic_ensemble_as_risk_monitor(tmp_path) -> None:
    from functools import partial

    from robot_rl.agents.sac import SACConfig
    from robot_rl.config import load_config, task_config
    from robot_rl.envs.make import make_env
    from robot_rl.loop import TrainConfig, Trainer
    from robot_rl.safety.risk import EnsembleDisagreement

    task = task_config(load_config("train", []).task)
    factory = partial(make_env, task, safety=SafetyConfig(risk_monitor="ensemble", risk_warmup_steps=0))
    trainer = Trainer(factory, SACConfig(num_critics=3), TrainConfig(video_episodes=0), tmp_path)
    shield = trainer.env.env.env  # TimeLimit -> RestrictDoF -> SafetyShield
    assert isinstance(shield, SafetyShield) and isinstance(shield.risk_monitor, EnsembleDisagreement)
    trainer.env.reset(seed=0)
    assert shield.risk_monitor.risk(shield._obs, np.zeros(7)) >= 0.0  # the 3 critics' std

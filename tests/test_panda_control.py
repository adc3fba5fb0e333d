"""The Cartesian controller tracks delta actions and never breaks joint, velocity or torque limits."""

from __future__ import annotations

import numpy as np
import pytest

from sim.panda_env import MAX_JOINT_VEL
from sim.tasks.peg_insert import PandaPegInsertEnv
from sim.tasks.pick_cube import PandaPickCubeEnv

TORQUE_LIMITS = np.array([87, 87, 87, 87, 12, 12, 12])


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_tcp_moves_along_commanded_axis(axis: int, sign: float) -> None:
    env = PandaPickCubeEnv()
    obs, _ = env.reset(seed=0)
    for _ in range(4):  # away from the workspace box's edges, which would clip the target
        obs, *_ = env.step(np.array([1.0, 0, -1.0, 0, 0, 0, 0]))
    start = obs["state"]["tcp_pose"][:3].copy()
    action = np.zeros(7)
    action[axis] = 0.5 * sign
    for _ in range(5):
        obs, *_ = env.step(action)
    moved = obs["state"]["tcp_pose"][:3] - start
    expected = 5 * 0.5 * env.action_scale[0]
    assert sign * moved[axis] == pytest.approx(expected, rel=0.2), moved
    off_axis = np.delete(moved, axis)
    assert np.all(np.abs(off_axis) < 0.008), moved


def test_zero_action_holds_pose() -> None:
    env = PandaPickCubeEnv()
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(np.array([1.0, 0.5, -1.0, 0, 0, 0, 0]))
    obs, *_ = env.step(np.zeros(7))
    held = obs["state"]["tcp_pose"][:3].copy()
    for _ in range(10):
        obs, *_ = env.step(np.zeros(7))
    assert np.linalg.norm(obs["state"]["tcp_pose"][:3] - held) < 0.002


def test_orientation_delta_rotates_tcp() -> None:
    env = PandaPickCubeEnv()
    obs, _ = env.reset(seed=0)
    action = np.zeros(7)
    action[5] = 1.0  # yaw
    for _ in range(3):
        obs, *_ = env.step(action)
    quat = obs["state"]["tcp_pose"][3:]
    angle = 2 * np.arccos(min(1.0, abs(float(np.dot(quat, [0.0, 1.0, 0.0, 0.0])))))
    assert angle == pytest.approx(3 * env.action_scale[1], rel=0.2)


@pytest.mark.parametrize("env_cls", [PandaPickCubeEnv, PandaPegInsertEnv])
def test_saturated_random_actions_respect_limits(env_cls) -> None:
    env = env_cls()
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    low, high = env.model.jnt_range[:7].T
    max_vel = 0.0
    for t in range(300):
        action = np.sign(rng.uniform(-1, 1, 7))  # always at the bounds
        if t % 60 == 0:
            env.reset(seed=t)
        obs, *_ = env.step(action)
        q = obs["state"]["joint_pos"]
        assert np.all(q >= low - 0.01) and np.all(q <= high + 0.01), q
        assert np.all(np.abs(env.data.actuator_force[:7]) <= TORQUE_LIMITS + 1e-6)
        # The base env bounds the TCP *target*; transients of combined rotation + translation may
        # overshoot by ~1.5 cm. The hard workspace limit is the safety shield's job (robot_rl/safety).
        tcp = obs["state"]["tcp_pose"][:3]
        assert np.all(tcp >= env.workspace_low - 0.03) and np.all(tcp <= env.workspace_high + 0.03), tcp
        max_vel = max(max_vel, float(np.max(np.abs(obs["state"]["joint_vel"]) / MAX_JOINT_VEL)))
    assert max_vel < 1.5, f"joint speed reached {max_vel:.2f}x the datasheet limit at a control step"


def test_physics_step_above_5ms_is_rejected() -> None:
    with pytest.raises(ValueError, match="physics_dt"):
        PandaPickCubeEnv(physics_dt=0.01)

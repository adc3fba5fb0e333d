"""Cartesian controller for the MuJoCo Panda: damped-least-squares differential IK, once per control step.

The gym-hil Panda spends ~75% of its time in an operational-space controller evaluated in Python at
every physics substep. Here the Cartesian target is turned into a joint-position target once per
control step (a few DLS iterations on a scratch ``MjData``), and MuJoCo's position actuators track it
between control steps with torque limits enforced by their ``forcerange``.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robot_rl.geometry import quat_error


class DiffIKController:
    """Maps a TCP pose target to joint-position targets that respect joint position and velocity limits.

    :param model: the compiled scene.
    :param joint_names: the arm joints, base to tip.
    :param site_name: the TCP site.
    :param home_qpos: posture the null space is pulled towards (avoids drifting into odd elbows).
    :param max_joint_vel: per-joint velocity limits [rad/s]; a target never asks for more than
        ``max_joint_vel * period_s`` of motion in one control step (scaled as a whole, keeping its direction).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        joint_names: list[str],
        site_name: str,
        home_qpos: np.ndarray,
        max_joint_vel: np.ndarray,
        *,
        damping: float = 1e-2,
        iterations: int = 3,
        nullspace_gain: float = 0.2,
    ) -> None:
        self.model = model
        self.scratch = mujoco.MjData(model)
        joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in joint_names]
        self.qpos_adr = np.array([model.jnt_qposadr[j] for j in joint_ids])
        self.dof_adr = np.array([model.jnt_dofadr[j] for j in joint_ids])
        self.q_low = model.jnt_range[joint_ids, 0] + 1e-3
        self.q_high = model.jnt_range[joint_ids, 1] - 1e-3
        self.site_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site_name)
        self.home_qpos = np.asarray(home_qpos, dtype=np.float64)
        self.max_joint_vel = np.asarray(max_joint_vel, dtype=np.float64)
        self.damping = damping
        self.iterations = iterations
        self.nullspace_gain = nullspace_gain
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def solve(
        self, data: mujoco.MjData, target_pos: np.ndarray, target_quat: np.ndarray, period_s: float
    ) -> np.ndarray:
        """Joint-position target (n_joints,) that moves the TCP towards ``target_pos``/``target_quat``."""
        m, s = self.model, self.scratch
        s.qpos[:] = data.qpos
        q_now = data.qpos[self.qpos_adr].copy()
        q = q_now.copy()
        n = len(q)
        site_quat = np.zeros(4)
        for _ in range(self.iterations):
            mujoco.mj_kinematics(m, s)
            mujoco.mj_comPos(m, s)
            mujoco.mju_mat2Quat(site_quat, s.site_xmat[self.site_id])
            err = np.concatenate([target_pos - s.site_xpos[self.site_id], quat_error(target_quat, site_quat)])
            mujoco.mj_jacSite(m, s, self._jacp, self._jacr, self.site_id)
            jac = np.vstack([self._jacp, self._jacr])[:, self.dof_adr]
            jjt = jac @ jac.T + (self.damping**2) * np.eye(6)
            jac_pinv = jac.T @ np.linalg.solve(jjt, np.eye(6))
            dq = jac_pinv @ err
            # Secondary task: pull towards the home posture inside the Jacobian's null space.
            dq += (np.eye(n) - jac_pinv @ jac) @ (self.nullspace_gain * (self.home_qpos - q))
            q = np.clip(q + dq, self.q_low, self.q_high)
            s.qpos[self.qpos_adr] = q
        # Scale the whole step down to the velocity limits: clipping joints one by one would bend the
        # TCP's path away from the target (and out of the workspace box under saturated commands).
        step = q - q_now
        ratio = float(np.max(np.abs(step) / (self.max_joint_vel * period_s)))
        return q_now + (step / ratio if ratio > 1.0 else step)

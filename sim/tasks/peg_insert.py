"""PandaPegInsert-v0: insert a held 20 mm square peg into a 22 mm square hole (2 mm clearance).

==========================  ===================================================================
Action                      the one interface's ``Box(-1, 1, (7,))``; the gripper channel is
                            ignored (the peg is held firmly for the whole episode)
Start state                 arm at Franka's ready posture holding the peg; hole centre uniform in
                            x [0.45, 0.60] m, y [-0.12, 0.12] m, walls aligned with the base axes
Privileged observation      ``hole_pos`` (3, m: centre of the hole's top face), ``peg_tip_pos`` (3, m)
Success                     peg tip >= ``INSERT_DEPTH_M`` below the hole's top face
Sparse reward               1 on success steps, else 0
Dense reward                approach + insertion terms in [0, 2] (each term in ``info``)
Termination                 on success (``terminate_on_success``); truncation by the time limit
==========================  ===================================================================
"""

from __future__ import annotations

import mujoco
import numpy as np

from sim.panda_env import PandaMujocoEnv

INSERT_DEPTH_M = 0.02
HOLE_X_RANGE_M = (0.45, 0.60)
HOLE_Y_RANGE_M = (-0.12, 0.12)
PEG_GRASP_WIDTH_M = 0.01  # per finger: fingers rest on the 20 mm peg


class PandaPegInsertEnv(PandaMujocoEnv):
    scene_file = "peg_insert.xml"
    privileged_parts = {"hole_pos": 3, "peg_tip_pos": 3}
    workspace_low = np.array([0.30, -0.30, 0.02])
    workspace_high = np.array([0.75, 0.30, 0.55])
    dr_bodies = ()
    dr_object_keys = ("hole_pos",)
    hold_action = np.array([0, 0, 0, 0, 0, 0, 1.0 - 2.0 * PEG_GRASP_WIDTH_M / 0.04], np.float32)  # on the peg

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._hole_mocap = self.model.body("hole").mocapid[0]
        self._hole_top = self.model.site("hole_top").id
        self._peg_tip = self.model.site("peg_tip").id
        self._peg_qadr = self.model.joint("peg").qposadr[0]
        self._hand = self.model.body("hand").id
        self._grasp_offset = self.model.eq("grasp").data[3:6].copy()

    def _reset_task(self, rng: np.random.Generator) -> None:
        x = rng.uniform(*HOLE_X_RANGE_M)
        y = rng.uniform(*HOLE_Y_RANGE_M)
        self.data.mocap_pos[self._hole_mocap] = [x, y, 0.0]
        # Put the peg where the grasp weld wants it, so the episode starts with the weld satisfied.
        mujoco.mj_kinematics(self.model, self.data)
        hand_pos = self.data.xpos[self._hand]
        hand_rot = self.data.xmat[self._hand].reshape(3, 3)
        hand_quat = np.zeros(4)
        mujoco.mju_mat2Quat(hand_quat, self.data.xmat[self._hand])
        self.data.qpos[self._peg_qadr : self._peg_qadr + 3] = hand_pos + hand_rot @ self._grasp_offset
        self.data.qpos[self._peg_qadr + 3 : self._peg_qadr + 7] = hand_quat

    def step(self, action: np.ndarray):
        action = np.array(action, dtype=np.float64, copy=True)
        if action.shape == (7,):
            action[6] = 1.0 - 2.0 * PEG_GRASP_WIDTH_M / 0.04  # hold the peg whatever the policy says
        return super().step(action)

    def _privileged(self) -> dict[str, np.ndarray]:
        return {
            "hole_pos": self.data.site_xpos[self._hole_top].copy(),
            "peg_tip_pos": self.data.site_xpos[self._peg_tip].copy(),
        }

    def _evaluate(self) -> tuple[bool, float, dict[str, float]]:
        hole = self.data.site_xpos[self._hole_top]
        tip = self.data.site_xpos[self._peg_tip]
        depth_m = hole[2] - tip[2]
        xy_err = float(np.linalg.norm(tip[:2] - hole[:2]))
        approach = 1.0 - np.tanh(10.0 * (xy_err + max(tip[2] - hole[2], 0.0)))
        insert = float(np.clip(depth_m / INSERT_DEPTH_M, 0.0, 1.0)) if xy_err < 0.005 else 0.0
        terms = {"reward_approach": float(approach), "reward_insert": insert}
        return bool(depth_m >= INSERT_DEPTH_M and xy_err < 0.005), float(approach + insert), terms

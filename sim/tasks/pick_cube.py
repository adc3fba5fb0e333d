"""PandaPickCube-v0: pick up a 4 cm cube and lift it at least 10 cm.

==========================  ===================================================================
Action                      the one interface's ``Box(-1, 1, (7,))`` (sim/panda_env.py)
Start state                 arm at Franka's ready posture, gripper open; cube resting on the table
                            with its centre uniform in x [0.40, 0.60] m, y [-0.15, 0.15] m, yaw 0
Privileged observation      ``cube_pos`` (3, m), ``cube_quat`` (4, wxyz)
Success                     cube centre >= ``LIFT_HEIGHT_M`` above its resting height
Sparse reward               1 on success steps, else 0
Dense reward                reach + grasp + lift terms in [0, 3] (each term in ``info``)
Termination                 on success (``terminate_on_success``); truncation by the time limit
==========================  ===================================================================
"""

from __future__ import annotations

import numpy as np

from sim.panda_env import PandaMujocoEnv

CUBE_HALF_M = 0.02
LIFT_HEIGHT_M = 0.10
CUBE_X_RANGE_M = (0.40, 0.60)
CUBE_Y_RANGE_M = (-0.15, 0.15)


class PandaPickCubeEnv(PandaMujocoEnv):
    scene_file = "pick_cube.xml"
    privileged_parts = {"cube_pos": 3, "cube_quat": 4}
    workspace_low = np.array([0.25, -0.35, 0.012])
    workspace_high = np.array([0.75, 0.35, 0.55])
    dr_bodies = ("cube",)
    dr_object_keys = ("cube_pos",)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._cube_qadr = self.model.joint("cube").qposadr[0]

    def _reset_task(self, rng: np.random.Generator) -> None:
        x = rng.uniform(*CUBE_X_RANGE_M)
        y = rng.uniform(*CUBE_Y_RANGE_M)
        self.data.qpos[self._cube_qadr : self._cube_qadr + 7] = [x, y, CUBE_HALF_M, 1, 0, 0, 0]

    def _privileged(self) -> dict[str, np.ndarray]:
        q = self.data.qpos[self._cube_qadr : self._cube_qadr + 7]
        return {"cube_pos": q[:3].copy(), "cube_quat": q[3:].copy()}

    def _evaluate(self) -> tuple[bool, float, dict[str, float]]:
        cube = self.data.qpos[self._cube_qadr : self._cube_qadr + 3]
        tcp, _ = self.tcp_pose()
        lift_m = cube[2] - CUBE_HALF_M
        reach = 1.0 - np.tanh(10.0 * np.linalg.norm(cube - tcp))
        closed_on_cube = self.data.qpos[self.model.joint("finger_joint1").qposadr[0]] < CUBE_HALF_M + 0.002
        grasp = float(reach > 0.8 and closed_on_cube)
        lift = float(np.clip(lift_m / LIFT_HEIGHT_M, 0.0, 1.0))
        terms = {"reward_reach": float(reach), "reward_grasp": grasp, "reward_lift": lift}
        return bool(lift_m >= LIFT_HEIGHT_M), float(reach + grasp + lift), terms

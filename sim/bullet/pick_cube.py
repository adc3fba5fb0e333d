"""PandaPickCubeBullet-v0: the PyBullet backend of PandaPickCube (pick up a 4 cm cube, lift it 10 cm).

Same constructor, spaces and semantics as ``sim.tasks.pick_cube.PandaPickCubeEnv`` (MuJoCo); needs no GL.

The spec table of ``sim/tasks/pick_cube.py`` holds (start state, privileged ``cube_pos``/``cube_quat``,
success, sparse and dense rewards, termination), with one difference: no ``tcp_wrench`` in ``state``
(pybullet's joint force sensor reads the URDF's placeholder inertias as 20-60 N of phantom force).

The TCP is the URDF's ``panda_grasptarget`` link, between the finger pads 0.105 m from the flange (MuJoCo:
0.1034 m). Its frame matches the MuJoCo TCP's: at home it reads wxyz ``[0, 1, 0, 0]`` (fingers down, hand
aligned with the base axes), so ``sim.experts.PickCubeExpert`` runs unchanged.

A control step turns the TCP target (``robot_rl.envs.tcp_target.TcpTarget``, as in MuJoCo) into joint
targets with ``calculateInverseKinematics`` (joint limits, rest pose = home), refined on a
kinematic copy of the arm, scales the step to the joint velocity limits times the control period, and
ramps torque-limited position motors to it over ``period / physics_dt`` substeps. ``reset`` restores a
snapshot taken at construction and re-creates the cube, so a seed replays its trajectory bit for bit.
Images come from the CPU ``ER_TINY_RENDERER``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as p
import pybullet_data

from robot_rl.envs.interface import (
    ArmEnv,
    ArmEnvSettings,
    base_info,
    check_action,
    make_action_space,
    make_observation_space,
    step_outcome,
)
from robot_rl.envs.tcp_target import TcpTarget
from robot_rl.geometry import quat_to_mat, quat_wxyz_to_xyzw, quat_xyzw_to_wxyz

# Task constants: they mirror sim/tasks/pick_cube.py (not imported: that module loads mujoco).
CUBE_HALF_M = 0.02
CUBE_MASS_KG = 0.05
LIFT_HEIGHT_M = 0.10
CUBE_X_RANGE_M = (0.40, 0.60)
CUBE_Y_RANGE_M = (-0.15, 0.15)
WORKSPACE_LOW = np.array([0.25, -0.35, 0.012])
WORKSPACE_HIGH = np.array([0.75, 0.35, 0.55])
HOME_TCP_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # fingers down, hand aligned with the base axes
ROTATION_LIMIT = np.array([0.5, 0.5, 1.2])  # orientation box around HOME_TCP_QUAT [rad], as in MuJoCo
# Robot constants: they mirror sim/panda_env.py, plus Franka's datasheet torque limits.
HOME_QPOS = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
IK_WRONG_WAY_M = 0.005  # an IK step may not take the TCP further than this away from its target
IK_BRANCH_JUMP_RAD = 0.5  # a refinement step larger than this left the null-space IK's branch
MAX_JOINT_VEL = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])  # rad/s
MAX_JOINT_TORQUE = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])  # Nm
FINGER_OPEN_M = 0.04  # per finger
FINGER_FORCE_N = 30.0  # per finger
PAD_FRICTION, CUBE_FRICTION = 1.5, 1.2
ARM_GAINS = (0.3, 1.0)  # POSITION_CONTROL position / velocity gains of the arm motors
IK_DAMPING, IK_ITERATIONS = 1e-3, 10  # the refining damped-least-squares IK pass

ARM = list(range(7))
HAND, FINGERS, TCP = 8, [9, 10], 11  # link indices in franka_panda/panda.urdf
#: name -> (eye, target, up, vertical fov [deg]) as in the MuJoCo scene; "wrist" is in the hand frame
#: (target there is a direction), "front" in the base frame.
CAMERAS = {
    "front": ((1.3, 0.0, 0.75), (0.5, 0.0, 0.05), (-0.659, 0.0, 0.753), 45.0),
    "wrist": ((0.07, 0.0, 0.04), (-0.287, 0.0, 0.958), (0.958, 0.0, 0.287), 70.0),
}


def load_panda(client: int) -> int:
    """Load pybullet_data's Panda (fixed base) with its collision meshes as visuals: the tiny renderer then
    draws ~3k triangles instead of ~100k, 4 ms per 128x128 image instead of 17, and looks the same."""
    root = Path(pybullet_data.getDataPath()) / "franka_panda"
    urdf = (root / "panda.urdf").read_text()
    urdf = urdf.replace("package://meshes/visual/", f"{root}/meshes/collision/")
    urdf = urdf.replace("package://meshes/", f"{root}/meshes/")
    fd, path = tempfile.mkstemp(suffix=".urdf")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(urdf)
        return p.loadURDF(path, useFixedBase=True, physicsClientId=client)
    finally:
        os.unlink(path)


class PandaPickCubeBulletEnv(ArmEnv):
    """Franka Panda picking a cube in PyBullet (DIRECT mode, private physics clients per env)."""

    privileged_parts = {"cube_pos": 3, "cube_quat": 4}

    def __init__(self, **settings: Any) -> None:
        """:param settings: ``robot_rl.envs.interface.ArmEnvSettings`` fields (control_hz, images ...)."""
        config = ArmEnvSettings(**settings)
        if config.images and set(config.cameras) - set(CAMERAS):
            unknown = sorted(set(config.cameras) - set(CAMERAS))
            raise ValueError(f"unknown cameras {unknown}; have {sorted(CAMERAS)}")
        config.apply(self)
        physics_dt = config.physics_dt
        self.tcp_target = TcpTarget(
            self.action_scale, WORKSPACE_LOW, WORKSPACE_HIGH, HOME_TCP_QUAT, ROTATION_LIMIT
        )
        self.action_space = make_action_space()
        self.observation_space = make_observation_space(
            len(ARM), wrench=False, cameras=self.cameras, image_hw=(self.image_size, self.image_size),
            privileged=self.privileged_parts,
        )  # fmt: skip

        self._cid: int | None = p.connect(p.DIRECT)
        self._ik_cid: int | None = p.connect(p.DIRECT)  # a kinematic copy of the arm, for IK only
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self._cid)
        self._ik_robot = load_panda(self._ik_cid)
        self._build_world(physics_dt)
        self._snapshot = p.saveState(physicsClientId=self._cid)
        self._cube: int | None = None
        self._q_cmd = HOME_QPOS.copy()

    def _build_world(self, physics_dt: float) -> None:
        c = {"physicsClientId": self._cid}
        p.setPhysicsEngineParameter(fixedTimeStep=physics_dt, deterministicOverlappingPairs=1, **c)
        p.setGravity(0.0, 0.0, -9.81, **c)
        p.loadURDF("plane.urdf", **c)  # floor = table top, z = 0
        self._robot = robot = load_panda(self._cid)
        limits = np.array([p.getJointInfo(robot, j, **c)[8:10] for j in ARM])
        self._q_low, self._q_high = limits[:, 0] + 1e-3, limits[:, 1] - 1e-3
        for j, q in zip(ARM + FINGERS, [*HOME_QPOS, FINGER_OPEN_M, FINGER_OPEN_M], strict=True):
            p.resetJointState(robot, j, q, **c)
        # The fingers mirror each other (the URDF's <mimic> is ignored by pybullet).
        gear = p.createConstraint(
            robot, FINGERS[0], robot, FINGERS[1], p.JOINT_GEAR, [1, 0, 0], [0] * 3, [0] * 3, **c
        )
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50, **c)
        for link in FINGERS:
            p.changeDynamics(robot, link, lateralFriction=PAD_FRICTION, **c)
        half = [CUBE_HALF_M] * 3
        self._cube_shapes = (
            p.createCollisionShape(p.GEOM_BOX, halfExtents=half, **c),
            p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=[0.85, 0.2, 0.15, 1], **c),
        )

    # ----------------------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        c = {"physicsClientId": self._cid}
        # Re-create the cube: its old contact manifolds (whose cached impulses warm-start the solver)
        # survive restoreState and would make the episode depend on the one before.
        if self._cube is not None:
            p.removeBody(self._cube, **c)
        p.restoreState(self._snapshot, **c)
        x, y = self.np_random.uniform(*CUBE_X_RANGE_M), self.np_random.uniform(*CUBE_Y_RANGE_M)
        self._cube = p.createMultiBody(
            CUBE_MASS_KG, *self._cube_shapes, basePosition=[x, y, CUBE_HALF_M], **c
        )
        p.changeDynamics(self._cube, -1, lateralFriction=CUBE_FRICTION, **c)
        self._command_fingers(FINGER_OPEN_M)
        self._command_arm(HOME_QPOS, np.zeros(7))
        for _ in range(self.substeps):  # settle, so the first observation is at rest
            p.stepSimulation(**c)
        self.tcp_target.reset(self.tcp_pose()[1])
        return self._observation(), base_info(self._evaluate()[0])

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        action = check_action(action)
        target_pos, target_quat = self.tcp_target(self.tcp_pose()[0], action)
        if np.any(action[:6]):
            q = self._arm_state()[0]
            step = np.clip(self._solve_ik(target_pos, target_quat), self._q_low, self._q_high) - q
            # The whole step is scaled to the velocity limits, keeping its direction: clipping joints one
            # by one would bend the TCP's path (and, after an IK branch flip, send the arm out of its box).
            ratio = float(np.max(np.abs(step) / (MAX_JOINT_VEL * self.period_s)))
            q_goal = q + (step / ratio if ratio > 1.0 else step)
            # pybullet's IK can step the wrong way in contorted postures (joints at their limits): a step
            # that takes the TCP further from its target than it is now is not taken; the arm holds.
            now, reached = self.tcp_pose()[0], self._tcp_at(q_goal)
            if np.linalg.norm(reached - target_pos) > np.linalg.norm(now - target_pos) + IK_WRONG_WAY_M:
                q_goal = self._q_cmd.copy()
        else:  # no motion commanded (a hold): keep the joint targets; re-solving IK drifts when contorted
            q_goal = self._q_cmd.copy()
        self._command_fingers(FINGER_OPEN_M * (1.0 - action[6]) / 2.0)
        # Ramp the joint targets over the period with the ramp's velocity fed forward: a step change of
        # target makes the torque-limited motors overshoot by centimetres.
        q_start, n = self._q_cmd, self.substeps
        vel = (q_goal - q_start) / self.period_s
        for i in range(1, n + 1):
            self._command_arm(q_start + (q_goal - q_start) * (i / n), vel if i < n else np.zeros(7))
            p.stepSimulation(physicsClientId=self._cid)
        reward, terminated, info = step_outcome(self, *self._evaluate())
        return self._observation(), reward, terminated, False, info

    def close(self) -> None:
        for cid in (self._cid, self._ik_cid):
            if cid is not None:
                p.disconnect(physicsClientId=cid)
        self._cid = self._ik_cid = None

    def __del__(self) -> None:  # an env dropped without close() must not leak its physics clients
        with contextlib.suppress(Exception):
            self.close()

    # ----------------------------------------------------------------------------------------- helpers
    def _command_arm(self, q: np.ndarray, dq: np.ndarray) -> None:
        self._q_cmd = q
        p.setJointMotorControlArray(
            self._robot, ARM, p.POSITION_CONTROL, q.tolist(), dq.tolist(), forces=MAX_JOINT_TORQUE.tolist(),
            positionGains=[ARM_GAINS[0]] * 7, velocityGains=[ARM_GAINS[1]] * 7, physicsClientId=self._cid,
        )  # fmt: skip

    def _command_fingers(self, opening_m: float) -> None:
        p.setJointMotorControlArray(
            self._robot, FINGERS, p.POSITION_CONTROL, [opening_m] * 2, forces=[FINGER_FORCE_N] * 2,
            physicsClientId=self._cid,
        )  # fmt: skip

    def _solve_ik(self, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        """Joint target for a TCP pose: pybullet's null-space IK (joint limits, rest pose = home) from the
        measured posture, which stops mm to cm short of the target, then a damped-least-squares pass from
        that solution on the kinematic copy, which lands within microns."""
        quat_xyzw, rest = quat_wxyz_to_xyzw(quat).tolist(), [FINGER_OPEN_M] * 2
        q_null = p.calculateInverseKinematics(
            self._robot, TCP, pos.tolist(), quat_xyzw, lowerLimits=[*self._q_low, 0.0, 0.0],
            upperLimits=[*self._q_high, *rest], jointRanges=[*(self._q_high - self._q_low), *rest],
            restPoses=[*HOME_QPOS, *rest], maxNumIterations=5, physicsClientId=self._cid,
        )  # fmt: skip
        for j in ARM:
            p.resetJointState(self._ik_robot, j, q_null[j], physicsClientId=self._ik_cid)
        q = np.array(p.calculateInverseKinematics(
            self._ik_robot, TCP, pos.tolist(), quat_xyzw, jointDamping=[IK_DAMPING] * 9,
            maxNumIterations=IK_ITERATIONS, residualThreshold=1e-6, physicsClientId=self._ik_cid,
        )[:7])  # fmt: skip
        # The refinement has no joint limits: if it jumped to another IK branch, keep the limited solution.
        return q if np.max(np.abs(q - np.array(q_null[:7]))) < IK_BRANCH_JUMP_RAD else np.array(q_null[:7])

    def _tcp_at(self, q: np.ndarray) -> np.ndarray:
        """TCP position for joint angles ``q`` (forward kinematics on the kinematic copy)."""
        for j in ARM:
            p.resetJointState(self._ik_robot, j, q[j], physicsClientId=self._ik_cid)
        s = p.getLinkState(self._ik_robot, TCP, computeForwardKinematics=True, physicsClientId=self._ik_cid)
        return np.array(s[4])

    def _arm_state(self) -> tuple[np.ndarray, np.ndarray]:
        states = p.getJointStates(self._robot, ARM, physicsClientId=self._cid)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def _finger_opening_m(self) -> float:
        states = p.getJointStates(self._robot, FINGERS, physicsClientId=self._cid)
        return float(np.mean([s[0] for s in states]))

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Measured TCP position [m] and quaternion wxyz in the base frame."""
        s = p.getLinkState(self._robot, TCP, computeForwardKinematics=True, physicsClientId=self._cid)
        return np.array(s[4]), quat_xyzw_to_wxyz(np.array(s[5]))

    def _cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        pos, quat = p.getBasePositionAndOrientation(self._cube, physicsClientId=self._cid)
        return np.array(pos), quat_xyzw_to_wxyz(np.array(quat))

    def _evaluate(self) -> tuple[bool, float, dict[str, float]]:
        cube, _ = self._cube_pose()
        tcp, _ = self.tcp_pose()
        lift_m = cube[2] - CUBE_HALF_M
        reach = 1.0 - np.tanh(10.0 * np.linalg.norm(cube - tcp))
        grasp = float(reach > 0.8 and self._finger_opening_m() < CUBE_HALF_M + 0.002)
        lift = float(np.clip(lift_m / LIFT_HEIGHT_M, 0.0, 1.0))
        terms = {"reward_reach": float(reach), "reward_grasp": grasp, "reward_lift": lift}
        return bool(lift_m >= LIFT_HEIGHT_M), float(reach + grasp + lift), terms

    def render_camera(self, camera: str, size: int) -> np.ndarray:
        """uint8 (size, size, 3) image from the tiny (CPU) renderer."""
        eye, target, up, fov = (np.array(v, dtype=np.float64) for v in CAMERAS[camera])
        c = {"physicsClientId": self._cid}
        if camera == "wrist":  # mounted on the hand: hand-frame vectors to the base frame
            s = p.getLinkState(self._robot, HAND, computeForwardKinematics=True, **c)
            rot = quat_to_mat(quat_xyzw_to_wxyz(np.array(s[5])))
            eye = np.array(s[4]) + rot @ eye
            target, up = eye + rot @ target, rot @ up
        view = p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist(), **c)
        proj = p.computeProjectionMatrixFOV(float(fov), 1.0, 0.01, 5.0, **c)
        flags = p.ER_NO_SEGMENTATION_MASK
        rgba = p.getCameraImage(
            size, size, view, proj, renderer=p.ER_TINY_RENDERER, shadow=0, flags=flags, **c
        )[2]
        return np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[:, :, :3].copy()

    def _observation(self) -> dict[str, Any]:
        c = {"physicsClientId": self._cid}
        s = p.getLinkState(self._robot, TCP, computeLinkVelocity=True, computeForwardKinematics=True, **c)
        q, dq = self._arm_state()
        cube_pos, cube_quat = self._cube_pose()
        state = {
            "tcp_pose": np.concatenate([s[4], quat_xyzw_to_wxyz(np.array(s[5]))]),
            "tcp_vel": np.concatenate([s[6], s[7]]),  # linear, angular [m/s, rad/s], base frame
            "gripper_pos": np.array([self._finger_opening_m() / FINGER_OPEN_M]),
            "joint_pos": q,
            "joint_vel": dq,
        }
        obs: dict[str, Any] = {"state": {k: v.astype(np.float32) for k, v in state.items()}}
        if self.cameras:
            obs["images"] = {cam: self.render_camera(cam, self.image_size) for cam in self.cameras}
        obs["privileged"] = {
            "cube_pos": cube_pos.astype(np.float32),
            "cube_quat": cube_quat.astype(np.float32),
        }
        return obs

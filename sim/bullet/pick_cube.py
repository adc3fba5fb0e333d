"""PandaPickCubeBullet-v0: the PyBullet backend of PandaPickCube (pick up a 4 cm cube, lift it 10 cm).

Same constructor, spaces and semantics as ``sim.tasks.pick_cube.PandaPickCubeEnv`` (MuJoCo); no GL needed.

==========================  ===================================================================
Action                      the one interface's ``Box(-1, 1, (7,))``: TCP deltas in the base frame
                            (``action_scale`` m / rad per step), gripper -1 open ... +1 close
Observation                 ``state`` (tcp_pose, tcp_vel, gripper_pos, joint_pos/vel of 7 joints),
                            ``images`` (``front``/``wrist``, tiny renderer) when ``images=True``
Start state                 arm at Franka's ready posture, gripper open; cube resting on the table
                            with its centre uniform in x [0.40, 0.60] m, y [-0.15, 0.15] m, yaw 0
Privileged observation      ``cube_pos`` (3, m), ``cube_quat`` (4, wxyz)
Success                     cube centre >= ``LIFT_HEIGHT_M`` above its resting height
Sparse reward               1 on success steps, else 0
Dense reward                reach + grasp + lift terms in [0, 3] (each term in ``info``)
Termination                 on success (``terminate_on_success``); truncation by the time limit
==========================  ===================================================================

The TCP is the URDF's ``panda_grasptarget`` link (between the finger pads, 0.105 m from the flange).
Its frame is the MuJoCo TCP's: at home it reads wxyz ``[0, 1, 0, 0]`` (fingers down, hand aligned with
the base axes), so ``sim.experts.PickCubeExpert`` runs unchanged. There is no ``tcp_wrench``.
A control step solves ``calculateInverseKinematics`` once, caps each joint's motion at its velocity
limit times the control period, and lets torque-limited position motors track it for
``period / physics_dt`` substeps. ``reset`` restores a snapshot taken at construction
(``saveState``), so the same seed replays the same trajectory bit for bit.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pybullet as p
import pybullet_data

from robot_rl.envs.interface import base_info, check_action, make_action_space, make_observation_space
from robot_rl.geometry import (
    quat_from_rotvec,
    quat_mul,
    quat_to_mat,
    quat_wxyz_to_xyzw,
    quat_xyzw_to_wxyz,
)

# Task constants: mirror sim/tasks/pick_cube.py (not imported, that module loads mujoco).
CUBE_HALF_M = 0.02
CUBE_MASS_KG = 0.05
LIFT_HEIGHT_M = 0.10
CUBE_X_RANGE_M = (0.40, 0.60)
CUBE_Y_RANGE_M = (-0.15, 0.15)
WORKSPACE_LOW = np.array([0.25, -0.35, 0.012])
WORKSPACE_HIGH = np.array([0.75, 0.35, 0.55])
# Robot constants: mirror sim/panda_env.py.
HOME_QPOS = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
MAX_JOINT_VEL = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])  # rad/s
MAX_JOINT_TORQUE = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])  # Nm
FINGER_OPEN_M = 0.04  # per finger
FINGER_FORCE_N = 30.0
PAD_FRICTION = 1.5
CUBE_FRICTION = 1.2
IK_DAMPING = 1e-3
IK_ITERATIONS = 10
ARM_GAIN = 0.3  # POSITION_CONTROL position gain (fraction of the error corrected per substep)

ARM = list(range(7))
HAND, FINGERS, TCP = 8, [9, 10], 11  # link indices in franka_panda/panda.urdf
#: name -> (eye, target, up, vertical fov [deg]); "wrist" is in the hand frame, "front" in the base frame.
CAMERAS = {
    "front": ((1.3, 0.0, 0.75), (0.5, 0.0, 0.05), (-0.659, 0.0, 0.753), 45.0),
    "wrist": ((0.07, 0.0, 0.04), (-0.287, 0.0, 0.958), (0.958, 0.0, 0.287), 70.0),
}


class PandaPickCubeBulletEnv(gym.Env):
    """Franka Panda picking a cube in PyBullet (DIRECT mode, one private physics client per env)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    privileged_parts = {"cube_pos": 3, "cube_quat": 4}

    def __init__(
        self,
        *,
        control_hz: float = 10.0,
        physics_dt: float = 0.005,
        action_scale: tuple[float, float] = (0.03, 0.15),
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        images: bool = False,
        cameras: tuple[str, ...] = ("front", "wrist"),
        image_size: int = 128,
        render_mode: str | None = None,
        render_size: int = 480,
    ) -> None:
        if reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type={reward_type!r} is not one of ['sparse', 'dense']")
        if physics_dt > 0.005:
            raise ValueError(f"physics_dt={physics_dt} exceeds 0.005 s; contacts need a smaller step")
        substeps = round(1.0 / (control_hz * physics_dt))
        if substeps < 1 or abs(substeps * physics_dt * control_hz - 1.0) > 1e-6:
            raise ValueError(
                f"control period 1/{control_hz} s is not a whole number of physics_dt={physics_dt} s "
                "steps; pick control_hz and physics_dt that divide"
            )
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is not one of [None, 'rgb_array']")
        unknown = set(cameras) - set(CAMERAS) if images else set()
        if unknown:
            raise ValueError(f"unknown cameras {sorted(unknown)}; have {sorted(CAMERAS)}")
        self.control_hz = float(control_hz)
        self.period_s = 1.0 / control_hz
        self.substeps = substeps
        self.action_scale = np.array(action_scale, dtype=np.float64)
        self.reward_type = reward_type
        self.terminate_on_success = terminate_on_success
        self.cameras = tuple(cameras) if images else ()
        self.image_size = image_size
        self.render_mode = render_mode
        self.render_size = render_size
        self.metadata = {**self.metadata, "render_fps": control_hz}

        self._client: int | None = p.connect(p.DIRECT)
        self._build_world(physics_dt)
        # A kinematic copy of the arm in its own client, for IK refinement without touching the physics.
        self._ik_client: int | None = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self._ik_client)
        self._ik_robot = p.loadURDF(
            "franka_panda/panda.urdf", useFixedBase=True, physicsClientId=self._ik_client
        )
        self._snapshot = p.saveState(physicsClientId=self._client)

        self.action_space = make_action_space()
        self.observation_space = make_observation_space(
            len(ARM),
            wrench=False,
            cameras=self.cameras,
            image_hw=(image_size, image_size),
            privileged=self.privileged_parts,
        )

    def _build_world(self, physics_dt: float) -> None:
        cid = self._client
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        p.setPhysicsEngineParameter(
            fixedTimeStep=physics_dt, deterministicOverlappingPairs=1, physicsClientId=cid
        )
        p.setGravity(0.0, 0.0, -9.81, physicsClientId=cid)
        p.loadURDF("plane.urdf", physicsClientId=cid)  # floor = table top, z = 0
        self._robot = p.loadURDF("franka_panda/panda.urdf", useFixedBase=True, physicsClientId=cid)
        info = [p.getJointInfo(self._robot, j, physicsClientId=cid) for j in ARM]
        self._q_low = np.array([i[8] for i in info]) + 1e-3
        self._q_high = np.array([i[9] for i in info]) - 1e-3
        gear = p.createConstraint(
            self._robot, FINGERS[0], self._robot, FINGERS[1], p.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0],
            physicsClientId=cid,
        )  # fmt: skip
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50, physicsClientId=cid)
        for link in FINGERS:
            p.changeDynamics(self._robot, link, lateralFriction=PAD_FRICTION, physicsClientId=cid)
        half = [CUBE_HALF_M] * 3
        self._cube = p.createMultiBody(
            baseMass=CUBE_MASS_KG,
            baseCollisionShapeIndex=p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=cid),
            baseVisualShapeIndex=p.createVisualShape(
                p.GEOM_BOX, halfExtents=half, rgbaColor=[0.85, 0.2, 0.15, 1], physicsClientId=cid
            ),
            basePosition=[0.5, 0.0, CUBE_HALF_M],
            physicsClientId=cid,
        )
        p.changeDynamics(self._cube, -1, lateralFriction=CUBE_FRICTION, physicsClientId=cid)
        for j, q in zip(ARM, HOME_QPOS, strict=True):
            p.resetJointState(self._robot, j, q, physicsClientId=cid)
        for j in FINGERS:
            p.resetJointState(self._robot, j, FINGER_OPEN_M, physicsClientId=cid)

    # ----------------------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        cid = self._client
        p.restoreState(self._snapshot, physicsClientId=cid)
        x = self.np_random.uniform(*CUBE_X_RANGE_M)
        y = self.np_random.uniform(*CUBE_Y_RANGE_M)
        p.resetBasePositionAndOrientation(self._cube, [x, y, CUBE_HALF_M], [0, 0, 0, 1], physicsClientId=cid)
        self._command(HOME_QPOS, FINGER_OPEN_M)
        for _ in range(self.substeps):  # settle, so the first observation is at rest
            p.stepSimulation(physicsClientId=cid)
        return self._observation(), base_info(self._evaluate()[0])

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        action = check_action(action)
        pos, quat = self.tcp_pose()
        target_pos = np.clip(pos + self.action_scale[0] * action[:3], WORKSPACE_LOW, WORKSPACE_HIGH)
        target_quat = quat_mul(quat_from_rotvec(self.action_scale[1] * action[3:6]), quat)
        q = self._arm_state()[0]
        q_goal = self._solve_ik(target_pos, quat_wxyz_to_xyzw(target_quat).tolist())
        step = MAX_JOINT_VEL * self.period_s
        q_goal = np.clip(np.clip(q_goal, q - step, q + step), self._q_low, self._q_high)
        self._command(q_goal, FINGER_OPEN_M * (1.0 - action[6]) / 2.0)
        for _ in range(self.substeps):
            p.stepSimulation(physicsClientId=self._client)
        success, dense, terms = self._evaluate()
        reward = float(success) if self.reward_type == "sparse" else dense
        info = base_info(success)
        info.update(terms)
        terminated = bool(success and self.terminate_on_success)
        return self._observation(), reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_size)

    def close(self) -> None:
        for cid in (self._client, self._ik_client):
            if cid is not None:
                p.disconnect(physicsClientId=cid)
        self._client = self._ik_client = None

    # ----------------------------------------------------------------------------------------- helpers
    def _command(self, q_arm: np.ndarray, finger_m: float) -> None:
        p.setJointMotorControlArray(
            self._robot, ARM, p.POSITION_CONTROL, targetPositions=list(q_arm), forces=list(MAX_JOINT_TORQUE),
            positionGains=[ARM_GAIN] * 7, physicsClientId=self._client,
        )  # fmt: skip
        p.setJointMotorControlArray(
            self._robot, FINGERS, p.POSITION_CONTROL, targetPositions=[finger_m] * 2,
            forces=[FINGER_FORCE_N] * 2, physicsClientId=self._client,
        )  # fmt: skip

    def _solve_ik(self, pos: np.ndarray, quat_xyzw: list[float]) -> np.ndarray:
        """Arm joint target for a TCP pose: null-space IK (joint limits, pulled towards home) from the
        measured posture, then refined on the kinematic copy by damped least squares, which pybullet's
        null-space solver alone leaves mm to cm short of the target."""
        q_null = p.calculateInverseKinematics(
            self._robot, TCP, pos.tolist(), quat_xyzw,
            lowerLimits=[*self._q_low, 0.0, 0.0], upperLimits=[*self._q_high, FINGER_OPEN_M, FINGER_OPEN_M],
            jointRanges=[*(self._q_high - self._q_low), FINGER_OPEN_M, FINGER_OPEN_M],
            restPoses=[*HOME_QPOS, FINGER_OPEN_M, FINGER_OPEN_M],
            maxNumIterations=5, physicsClientId=self._client,
        )  # fmt: skip
        for j in ARM:
            p.resetJointState(self._ik_robot, j, q_null[j], physicsClientId=self._ik_client)
        q = p.calculateInverseKinematics(
            self._ik_robot, TCP, pos.tolist(), quat_xyzw, jointDamping=[IK_DAMPING] * 9,
            maxNumIterations=IK_ITERATIONS, residualThreshold=1e-6, physicsClientId=self._ik_client,
        )  # fmt: skip
        return np.array(q[:7])

    def _arm_state(self) -> tuple[np.ndarray, np.ndarray]:
        states = p.getJointStates(self._robot, ARM, physicsClientId=self._client)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def _finger_pos(self) -> float:
        states = p.getJointStates(self._robot, FINGERS, physicsClientId=self._client)
        return float(np.mean([s[0] for s in states]))

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Measured TCP position [m] and quaternion wxyz in the base frame."""
        s = p.getLinkState(self._robot, TCP, computeForwardKinematics=True, physicsClientId=self._client)
        return np.array(s[4]), quat_xyzw_to_wxyz(np.array(s[5]))

    def _cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        pos, quat = p.getBasePositionAndOrientation(self._cube, physicsClientId=self._client)
        return np.array(pos), quat_xyzw_to_wxyz(np.array(quat))

    def _evaluate(self) -> tuple[bool, float, dict[str, float]]:
        cube, _ = self._cube_pose()
        tcp, _ = self.tcp_pose()
        lift_m = cube[2] - CUBE_HALF_M
        reach = 1.0 - np.tanh(10.0 * np.linalg.norm(cube - tcp))
        grasp = float(reach > 0.8 and self._finger_pos() < CUBE_HALF_M + 0.002)
        lift = float(np.clip(lift_m / LIFT_HEIGHT_M, 0.0, 1.0))
        terms = {"reward_reach": float(reach), "reward_grasp": grasp, "reward_lift": lift}
        return bool(lift_m >= LIFT_HEIGHT_M), float(reach + grasp + lift), terms

    def render_camera(self, camera: str, size: int) -> np.ndarray:
        """uint8 (size, size, 3) image from the tiny (CPU) renderer."""
        eye, target, up, fov = (np.array(v, dtype=np.float64) for v in CAMERAS[camera])
        if camera == "wrist":  # mounted on the hand: hand-frame vectors to the base frame
            s = p.getLinkState(self._robot, HAND, computeForwardKinematics=True, physicsClientId=self._client)
            rot = quat_to_mat(quat_xyzw_to_wxyz(np.array(s[5])))
            eye = np.array(s[4]) + rot @ eye
            target, up = eye + rot @ target, rot @ up
        view = p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist(), physicsClientId=self._client)
        proj = p.computeProjectionMatrixFOV(float(fov), 1.0, 0.01, 5.0, physicsClientId=self._client)
        _, _, rgba, _, _ = p.getCameraImage(
            size, size, view, proj, renderer=p.ER_TINY_RENDERER, shadow=0,
            flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self._client,
        )  # fmt: skip
        return np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[:, :, :3].copy()

    def _observation(self) -> dict[str, Any]:
        s = p.getLinkState(
            self._robot, TCP, computeLinkVelocity=True, computeForwardKinematics=True,
            physicsClientId=self._client,
        )  # fmt: skip
        q, dq = self._arm_state()
        cube_pos, cube_quat = self._cube_pose()
        state = {
            "tcp_pose": np.concatenate([s[4], quat_xyzw_to_wxyz(np.array(s[5]))]),
            "tcp_vel": np.concatenate([s[6], s[7]]),
            "gripper_pos": np.array([self._finger_pos() / FINGER_OPEN_M]),
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

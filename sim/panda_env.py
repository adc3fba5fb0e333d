"""MuJoCo Franka Panda base env of the one interface; tasks subclass it (``sim/tasks/``).

A control step (``1 / control_hz`` s) turns the normalised 7-D delta action into a TCP pose target
(measured pose + ``action_scale`` * delta, clipped to the task's workspace box), solves differential IK
once, and lets the joint position actuators track the target for ``control period / physics_dt``
physics substeps, the target ramped over ``RAMP_CHUNKS`` chunks so joint velocities stay smooth.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

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
from sim.controller import DiffIKController
from sim.randomization import DomainRandomization, DomainRandomizer

ASSETS = Path(__file__).resolve().parent / "assets"
ARM_JOINTS = [f"joint{i}" for i in range(1, 8)]
#: Franka's "ready" posture: TCP about 0.3 m in front of the base and 0.48 m up, fingers pointing down.
HOME_QPOS = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
#: TCP orientation at HOME_QPOS: fingers pointing down, hand aligned with the base axes (wxyz).
HOME_TCP_QUAT = np.array([0.0, 1.0, 0.0, 0.0])
#: Franka datasheet joint velocity limits [rad/s].
MAX_JOINT_VEL = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
FINGER_OPEN_M = 0.04  # per finger
RAMP_CHUNKS = 4
#: What a delayed action queue executes before the first chosen action arrives: stand still, gripper open.
HOLD_ACTION = np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float32)


class PandaMujocoEnv(ArmEnv):
    """Base class: arm, gripper, controller, observations, cameras. Subclasses define the task.

    Subclasses set ``scene_file`` and implement ``_reset_task``, ``_privileged`` and ``_evaluate``;
    ``dr_bodies`` and ``dr_object_keys`` name the objects domain randomization varies (sim/randomization.py).
    """

    scene_file: str = ""
    privileged_parts: dict[str, int] = {}
    #: TCP target box [m] in the base frame; tasks override it.
    workspace_low = np.array([0.25, -0.35, 0.012])
    workspace_high = np.array([0.75, 0.35, 0.55])
    #: Orientation box: the TCP rotation vector relative to ``HOME_TCP_QUAT`` (base frame) [rad].
    rotation_limit = np.array([0.5, 0.5, 1.2])
    #: Free bodies whose mass/friction/size are randomized, and the privileged keys of their positions.
    dr_bodies: tuple[str, ...] = ()
    dr_object_keys: tuple[str, ...] = ()
    #: What a delayed action queue executes before the first chosen action arrives.
    hold_action = HOLD_ACTION

    def __init__(self, randomization: dict[str, Any] | None = None, **settings: Any) -> None:
        """:param settings: ``robot_rl.envs.interface.ArmEnvSettings`` fields (control_hz, images ...);
        ``randomization``: ``sim.randomization.DomainRandomization`` fields (the ``dr`` config)."""
        ArmEnvSettings(**settings).apply(self, minimum_substeps=RAMP_CHUNKS)
        self.model = mujoco.MjModel.from_xml_path(str(ASSETS / "panda" / self.scene_file))
        self.model.opt.timestep = settings.get("physics_dt", ArmEnvSettings.physics_dt)
        self.data = mujoco.MjData(self.model)
        self._arm_qadr = np.array([self.model.joint(j).qposadr[0] for j in ARM_JOINTS])
        self._arm_dadr = np.array([self.model.joint(j).dofadr[0] for j in ARM_JOINTS])
        self._finger_qadr = self.model.joint("finger_joint1").qposadr[0]
        self._tcp = self.model.site("tcp").id
        self._gripper_act = self.model.actuator("gripper").id
        self._ft_force = self.model.sensor("ft_force").adr[0]
        self._ft_torque = self.model.sensor("ft_torque").adr[0]
        self.controller = DiffIKController(self.model, ARM_JOINTS, "tcp", HOME_QPOS, MAX_JOINT_VEL)
        self._renderers: dict[int, mujoco.Renderer] = {}
        self.tcp_target = TcpTarget(
            self.action_scale, self.workspace_low, self.workspace_high, HOME_TCP_QUAT, self.rotation_limit
        )
        dr = DomainRandomization.from_dict(randomization)
        self.randomizer = None
        if dr.enabled:
            actuators = [self.model.actuator(f"act{i}").id for i in range(1, len(ARM_JOINTS) + 1)]
            self.randomizer = DomainRandomizer(
                dr, self.model, list(self.dr_bodies), self._arm_dadr, actuators
            )

        self.action_space = make_action_space()
        self.observation_space = make_observation_space(
            len(ARM_JOINTS),
            wrench=True,
            cameras=self.cameras,
            image_hw=(self.image_size, self.image_size),
            privileged=self.privileged_parts,
        )

    # ----------------------------------------------------------------------------------------- task API
    def _reset_task(self, rng: np.random.Generator) -> None:
        """Place the task's objects (qpos/mocap) for a new episode."""
        raise NotImplementedError

    def _privileged(self) -> dict[str, np.ndarray]:
        """Simulator-only object state (poses), for state-based training; unavailable on hardware."""
        raise NotImplementedError

    def _evaluate(self) -> tuple[bool, float, dict[str, float]]:
        """Return ``(success, dense_reward, reward_terms)`` for the current state."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._arm_qadr] = HOME_QPOS
        self.data.ctrl[: len(ARM_JOINTS)] = HOME_QPOS
        self.data.qpos[self._finger_qadr : self._finger_qadr + 2] = FINGER_OPEN_M
        self.data.ctrl[self._gripper_act] = FINGER_OPEN_M
        self._reset_task(self.np_random)
        if self.randomizer is not None:
            self._randomize()
        mujoco.mj_forward(self.model, self.data)
        # Let contacts settle so the first observation is at rest.
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        self.tcp_target.reset(self.tcp_pose()[1])
        success, _, _ = self._evaluate()
        return self._observation(), self._with_randomization(base_info(success))

    def _randomize(self) -> None:
        """Draw and apply this episode's randomization; resized objects are set down on the table."""
        self.randomizer.sample(self.np_random)
        self.randomizer.apply()
        for body in self.dr_bodies:
            joint = self.model.body(body).jntadr[0]
            if joint >= 0 and self.model.jnt_type[joint] == mujoco.mjtJoint.mjJNT_FREE:
                self.data.qpos[self.model.jnt_qposadr[joint] + 2] += self.randomizer.size_lift(body)

    def _with_randomization(self, info: dict[str, Any]) -> dict[str, Any]:
        if self.randomizer is not None:
            info["randomization"] = dict(self.randomizer.values)
        return info

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        action = check_action(action)
        if self.randomizer is not None:
            action = self.randomizer.delayed(action, self.hold_action)
        target_pos, target_quat = self.tcp_target(self.tcp_pose()[0], action)
        q_start = self.data.ctrl[: len(ARM_JOINTS)].copy()
        if np.any(action[:6]):
            q_goal = self.controller.solve(self.data, target_pos, target_quat, self.period_s / 2)
        else:  # no motion commanded (a hold): keep the joint targets instead of re-solving IK, which
            q_goal = q_start  # drifts along the null space in contorted postures
        self.data.ctrl[self._gripper_act] = FINGER_OPEN_M * (1.0 - action[6]) / 2.0
        # The target ramps over the first half of the period and is held for the second half, so the
        # controller's step limit (velocity limit x half a period) keeps joint speeds within the datasheet.
        chunk = self.substeps // RAMP_CHUNKS
        for i in range(1, RAMP_CHUNKS + 1):
            self.data.ctrl[: len(ARM_JOINTS)] = q_start + (q_goal - q_start) * min(1.0, 2 * i / RAMP_CHUNKS)
            n = chunk if i < RAMP_CHUNKS else self.substeps - chunk * (RAMP_CHUNKS - 1)
            mujoco.mj_step(self.model, self.data, nstep=n)
        reward, terminated, info = step_outcome(self, *self._evaluate())
        return self._observation(), reward, terminated, False, self._with_randomization(info)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    # ----------------------------------------------------------------------------------------- helpers
    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Measured TCP position [m] and quaternion wxyz in the base frame."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self._tcp])
        return self.data.site_xpos[self._tcp].copy(), quat

    def render_camera(self, camera: str, size: int) -> np.ndarray:
        """uint8 (size, size, 3) image from one of the scene's cameras."""
        renderer = self._renderers.get(size)
        if renderer is None:
            try:
                renderer = self._renderers[size] = mujoco.Renderer(self.model, size, size)
            except (mujoco.FatalError, RuntimeError) as err:
                raise RuntimeError(
                    f"cannot render camera {camera!r}: no OpenGL context (MUJOCO_GL="
                    f"{os.environ.get('MUJOCO_GL')!r}: {err}). Headless machines need "
                    "`apt-get install libegl1 libgl1-mesa-dri libegl-mesa0` and MUJOCO_GL=egl"
                ) from None
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def _observation(self) -> dict[str, Any]:
        pos, quat = self.tcp_pose()
        vel = np.zeros(6)  # mj_objectVelocity gives [angular, linear]
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_SITE, self._tcp, vel, 0)
        rot = self.data.site_xmat[self._tcp].reshape(3, 3)
        force = rot @ self.data.sensordata[self._ft_force : self._ft_force + 3]
        torque = rot @ self.data.sensordata[self._ft_torque : self._ft_torque + 3]
        state = {
            "tcp_pose": np.concatenate([pos, quat]),
            "tcp_vel": np.concatenate([vel[3:], vel[:3]]),
            "gripper_pos": np.array([self.data.qpos[self._finger_qadr] / FINGER_OPEN_M]),
            "joint_pos": self.data.qpos[self._arm_qadr],
            "joint_vel": self.data.qvel[self._arm_dadr],
            "tcp_wrench": np.concatenate([force, torque]),
        }
        obs: dict[str, Any] = {"state": {k: v.astype(np.float32) for k, v in state.items()}}
        if self.cameras:
            obs["images"] = {cam: self.render_camera(cam, self.image_size) for cam in self.cameras}
        obs["privileged"] = {k: v.astype(np.float32) for k, v in self._privileged().items()}
        if self.randomizer is not None:
            self.randomizer.observe(obs, self.np_random, list(self.dr_object_keys))
        return obs

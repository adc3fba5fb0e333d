"""``RosRobotEnv``: the one env interface over a robot's ROS 2 topics (``drivers/topics.py``).

The robot is a real arm's driver or ``sim_robot_node``; the env cannot tell them apart. A step sends
the action as a TCP velocity (``delta / period``) plus a gripper opening, then waits for the robot's
next complete state set (every state topic carrying one header stamp newer than the command, and each
camera an image at most one control period older, since cameras run on their own clocks), so the
robot's own tick clocks the loop: at ``control_hz`` on hardware, as fast as the simulation in lockstep.
A robot whose ``task_state`` names the ``command`` it has applied (``RobotNode``: the simulated robots and
``arm_driver_node``) is also waited for until that is this step's command (or another sender's that came
after), so a tick that began before the command was taken never answers it.

``reset(seed=...)`` sets the ``seed`` parameter of ``<namespace>/<sim_node>`` when that node exists
(simulation), then calls the ``reset`` service; while the robot's e-stop is latched the service
refuses (a reset drives the arm home) and ``reset`` waits, asking again until the release.
``success`` and ``reward`` come from ``task_state`` when the robot publishes it (simulation, or a
success detector); otherwise ``task_state=False``.

The env owns its own rclpy context and spins it on a background thread, so it works inside any
process, a ROS node or not.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from typing import Any

import gymnasium as gym
import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

from drivers import topics
from drivers.ros_background import BackgroundNode
from drivers.ros_messages import (
    image_from_msg,
    parts_from_msg,
    pose_from_msg,
    twist_from_msg,
    twist_msg,
    wrench_from_msg,
)
from robot_rl.envs.interface import base_info, check_action, make_action_space, make_observation_space
from robot_rl.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)
PANDA_ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
INFO_WAIT_S = 3.0  # how long to wait for the robot's robot_info service (the robot is up by then)
ESTOP_RETRY_S = 0.5  # how often a reset refused under a latched e-stop asks again
_instances = itertools.count()


class RobotRateMismatch(ConfigError):
    """The robot ticks at another rate than the client's ``control_hz``."""


class RobotTimeout(DeviceError):
    """The robot did not answer in time (not running, wrong namespace, or stalled)."""


class RosRobotEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    #: The robot's ticks pace ``step``; a caller must not add its own sleep (``distributed.Actor``).
    paced_by_robot = True

    def __init__(
        self,
        namespace: str = "/robot",
        control_hz: float = 10.0,
        action_scale: tuple[float, float] = (0.03, 0.15),
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        images: bool = False,
        cameras: tuple[str, ...] = ("front", "wrist"),
        image_size: int = 128,
        render_mode: str | None = None,
        arm_joints: tuple[str, ...] = PANDA_ARM_JOINTS,
        gripper_joint: str = "finger_joint1",
        gripper_open_m: float = 0.04,
        wrench: bool = True,
        task_state: bool = True,
        sim_node: str = "sim_robot",  # node whose ``seed`` parameter seeds resets; "" for hardware
        timeout_s: float = 10.0,
        home_quat: tuple[float, ...] = (0.0, 1.0, 0.0, 0.0),
        **simulator_only: Any,
    ) -> None:
        """Settings are the task's (``TaskConfig.env_kwargs``) plus the robot's topic layout.

        :param home_quat: the TCP orientation at home (wxyz), the centre of a shield's rotation box.
        :param simulator_only: settings of simulated envs (``physics_dt``, ``render_size``); ignored.
        """
        del simulator_only
        if reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type={reward_type!r} is not one of ['sparse', 'dense']")
        self.namespace = namespace
        self.home_quat = np.asarray(home_quat, dtype=np.float64)
        self.control_hz = float(control_hz)
        self.period_s = 1.0 / self.control_hz
        self.action_scale = np.array(action_scale, dtype=np.float64)
        self.reward_type, self.terminate_on_success = reward_type, terminate_on_success
        self.cameras = tuple(cameras) if images else ()
        self.render_mode = render_mode
        self.arm_joints, self.gripper_joint, self.gripper_open_m = (
            tuple(arm_joints),
            gripper_joint,
            gripper_open_m,
        )
        self.timeout_s = timeout_s
        self.metadata = {**self.metadata, "render_fps": self.control_hz}

        self._ros = BackgroundNode(f"ros_robot_env_{os.getpid()}_{next(_instances)}", namespace)
        self._node = self._ros.node
        self._lock = threading.Condition()
        self._latest: dict[str, Any] = {}  # topic -> newest message
        self._state_topics: dict[str, type] = {
            topics.JOINT_STATES: JointState,
            topics.TCP_POSE: PoseStamped,
            topics.TCP_TWIST: TwistStamped,
        }
        if wrench:
            self._state_topics[topics.WRENCH] = WrenchStamped
        self._image_topics = {topics.camera_topic(cam) for cam in self.cameras}
        for cam in self.cameras:
            self._state_topics[topics.camera_topic(cam)] = Image
        if task_state:
            self._state_topics[topics.TASK_STATE] = Float64MultiArray
        for name, msg_type in self._state_topics.items():
            self._node.create_subscription(msg_type, name, self._keeper(name), 10)
        self._cmd_twist = self._node.create_publisher(TwistStamped, topics.CMD_TWIST, 10)
        self._cmd_gripper = self._node.create_publisher(Float64MultiArray, topics.CMD_GRIPPER, 10)
        self._reset_client = self._node.create_client(Trigger, topics.RESET)
        info_client = self._node.create_client(Trigger, topics.ROBOT_INFO)
        self._seed_client = self._node.create_client(SetParameters, f"{sim_node or 'none'}/set_parameters")
        self._ros.start()

        self._last_stamp = 0.0
        self._command = 0.0  # stamp of the twist command the next state must have applied (0: none)
        self._applied: float | None = None  # the command the last accepted state had applied
        first = self._wait_for_state(newer_than=0.0, what="first state")
        if info_client.wait_for_service(timeout_sec=INFO_WAIT_S):  # a driver without it is not checked
            reply = self._call(info_client, Trigger.Request(), "robot_info")
            try:
                self._check_rate(topics.parse_rate_token(reply.message))
            except RobotRateMismatch:
                self.close()
                raise
        self.action_space = make_action_space()
        self.observation_space = self._observation_space(first, wrench)
        # A simulated robot takes reset seeds through its ``seed`` parameter; hardware has none.
        self._seedable = bool(sim_node) and self._seed_client.wait_for_service(timeout_sec=3.0)

    # ------------------------------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and self._seedable:
            self._call(self._seed_client, _seed_request(seed), "set the reset seed")
        reply = self._call(self._reset_client, Trigger.Request(), "reset")
        if _refused_for_estop(reply):
            log.warning("the robot's e-stop is latched: the reset waits for estop_release")
        while _refused_for_estop(reply):
            time.sleep(ESTOP_RETRY_S)
            reply = self._call(self._reset_client, Trigger.Request(), "reset")
        if not reply.success:
            raise RuntimeError(f"the robot refused the reset: {reply.message}")
        start = topics.parse_stamp_token(reply.message)
        # A driver that names no start stamp has finished moving when it answers: take a later state.
        newer_than = start - 1e-6 if start is not None else self._now()
        self._command = 0.0
        state = self._wait_for_state(newer_than=newer_than, what="reset")
        success, _reward = self._task(state)
        return self._observation(state), base_info(success)

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        action = check_action(action)
        sent = self._now()
        stamp = self._node.get_clock().now().to_msg()
        velocity = np.concatenate([action[:3] * self.action_scale[0], action[3:6] * self.action_scale[1]])
        velocity /= self.period_s
        self._cmd_gripper.publish(Float64MultiArray(data=[float((1.0 - action[6]) / 2.0)]))
        self._command = topics.stamp_seconds(stamp)
        self._cmd_twist.publish(twist_msg(velocity[:3], velocity[3:], stamp))
        state = self._wait_for_state(newer_than=max(sent, self._last_stamp), what="step")
        success, reward = self._task(state)
        reward = float(success) if self.reward_type == "sparse" else reward
        return (
            self._observation(state),
            reward,
            bool(success and self.terminate_on_success),
            False,
            base_info(success),
        )

    def _check_rate(self, robot_hz: float | None) -> None:
        """A command is a displacement per control period: at another rate the arm would move at another
        speed and rhythm than the policy learned. Asked before anything moves (not even the reset to
        home); a robot that does not name its rate is not checked."""
        if robot_hz is None or abs(robot_hz - self.control_hz) <= 1e-3 * self.control_hz:
            return
        raise RobotRateMismatch(
            f"the robot at {self.namespace} ticks at {robot_hz:g} Hz, this client (task.control_hz) at "
            f"{self.control_hz:g} Hz: each action would move the arm {self.control_hz / robot_hz:.2g}x as "
            f"far per tick as the policy learned. Start the robot at {self.control_hz:g} Hz (control_hz in "
            f"its config or launch file), or use a policy trained with task.control_hz={robot_hz:g}"
        )

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or not self.cameras:
            return None
        with self._lock:
            msg = self._latest.get(topics.camera_topic(self.cameras[0]))
        return None if msg is None else image_from_msg(msg)

    def close(self) -> None:
        self._ros.close()

    # ------------------------------------------------------------------------------------------ topics
    def _keeper(self, name: str):
        def keep(msg: Any) -> None:
            with self._lock:
                self._latest[name] = msg
                self._lock.notify_all()

        return keep

    def _now(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def _wait_for_state(self, newer_than: float, what: str) -> dict[str, Any]:
        """The newest complete state set (one stamp on the state topics, fresh images) after newer_than."""
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            while True:
                state = self._complete_set(newer_than)
                if state is not None:
                    self._last_stamp = _stamp_of(state[topics.JOINT_STATES])
                    self._applied = _applied_command(state)
                    return state
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RobotTimeout(self._timeout_message(newer_than, what))
                self._lock.wait(min(left, 0.05))

    def _complete_set(self, newer_than: float) -> dict[str, Any] | None:
        if len(self._latest) < len(self._state_topics):
            return None
        stamp = _stamp_of(self._latest[topics.JOINT_STATES])
        if stamp <= newer_than:
            return None
        for name, msg in self._latest.items():
            if name in self._image_topics:  # cameras have their own clocks: fresh within one period
                if _stamp_of(msg) < stamp - self.period_s - 1e-6:
                    return None
            elif abs(_stamp_of(msg) - stamp) > 1e-6:
                return None  # part of the set is still in flight
        applied = _applied_command(self._latest)
        if applied is not None and applied < self._command and applied == self._applied:
            # a tick that began after the command was sent but before the robot took it (one that applied
            # another sender's command is an answer: the arm moved under it)
            return None
        return dict(self._latest)

    def _timeout_message(self, newer_than: float, what: str) -> str:
        missing = [self._node.resolve_topic_name(t) for t in self._state_topics if t not in self._latest]
        stale = [
            self._node.resolve_topic_name(t) for t, m in self._latest.items() if _stamp_of(m) <= newer_than
        ]
        detail = (
            f"no message yet on {missing}" if missing else f"nothing new on {stale or 'a consistent set'}"
        )
        return (
            f"robot {self.namespace!r} sent no {what} within {self.timeout_s:g} s ({detail}); start the "
            f"robot driver or sim_robot_node in namespace {self.namespace!r} "
            "(e.g. robot-rl launch launch/sim_robot_train.launch.yaml) or fix the env's namespace"
        )

    def _call(self, client: Any, request: Any, what: str) -> Any:
        if not client.wait_for_service(timeout_sec=self.timeout_s):
            raise RobotTimeout(f"service {client.srv_name} ({what}) is not available; is the robot running?")
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(self.timeout_s):
            raise RobotTimeout(
                f"service {client.srv_name} ({what}) did not answer within {self.timeout_s:g} s"
            )
        return future.result()

    # ------------------------------------------------------------------------------------------ state
    def _observation_space(self, state: dict[str, Any], wrench: bool) -> gym.spaces.Dict:
        names = list(state[topics.JOINT_STATES].name)
        missing = [j for j in (*self.arm_joints, self.gripper_joint) if j not in names]
        if missing:
            raise ValueError(
                f"{self._node.resolve_topic_name(topics.JOINT_STATES)} has no joints {missing} "
                f"(it names {names}); set arm_joints/gripper_joint to the robot's joint names"
            )
        self._joint_index = [names.index(j) for j in self.arm_joints]
        self._gripper_index = names.index(self.gripper_joint)
        sizes = {image_from_msg(state[topics.camera_topic(c)]).shape[:2] for c in self.cameras}
        if len(sizes) > 1:
            raise ValueError(f"cameras {list(self.cameras)} publish different image sizes {sorted(sizes)}")
        parts = self._task_parts(state)
        privileged = {name: len(v) for name, v in parts.items() if name not in topics.TASK_FIELDS}
        return make_observation_space(
            len(self.arm_joints),
            wrench=wrench,
            cameras=self.cameras,
            image_hw=sizes.pop() if sizes else (0, 0),
            privileged=privileged,
        )

    def _observation(self, state: dict[str, Any]) -> dict[str, Any]:
        joints: JointState = state[topics.JOINT_STATES]
        position, velocity = np.asarray(joints.position), np.asarray(joints.velocity)
        parts = {
            "tcp_pose": pose_from_msg(state[topics.TCP_POSE]),
            "tcp_vel": twist_from_msg(state[topics.TCP_TWIST]),
            "gripper_pos": np.array([position[self._gripper_index] / self.gripper_open_m]),
            "joint_pos": position[self._joint_index],
            "joint_vel": velocity[self._joint_index] if len(velocity) else np.zeros(len(self._joint_index)),
        }
        if topics.WRENCH in state:
            parts["tcp_wrench"] = wrench_from_msg(state[topics.WRENCH])
        obs: dict[str, Any] = {"state": {k: v.astype(np.float32) for k, v in parts.items()}}
        if self.cameras:
            obs["images"] = {c: image_from_msg(state[topics.camera_topic(c)]) for c in self.cameras}
        if "privileged" in self.observation_space.spaces:
            task = self._task_parts(state)
            obs["privileged"] = {k: task[k].astype(np.float32) for k in self.observation_space["privileged"]}
        return obs

    def _task_parts(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        msg = state.get(topics.TASK_STATE)
        return {} if msg is None else parts_from_msg(msg)

    def _task(self, state: dict[str, Any]) -> tuple[bool, float]:
        parts = self._task_parts(state)
        if not parts:
            return False, 0.0
        return bool(parts["success"][0] > 0.5), float(parts["reward"][0])


def _applied_command(state: dict[str, Any]) -> float | None:
    """The stamp of the twist command a state set has applied, where the robot names it."""
    task = state.get(topics.TASK_STATE)
    command = parts_from_msg(task).get("command") if task is not None else None
    return None if command is None else float(command[0])


def _stamp_of(msg: Any) -> float:
    if isinstance(msg, Float64MultiArray):
        return float(parts_from_msg(msg)["stamp"][0])
    return topics.stamp_seconds(msg.header.stamp)


def _refused_for_estop(reply: Trigger.Response) -> bool:
    return not reply.success and reply.message.startswith(topics.RESET_REFUSED_ESTOP)


def _seed_request(seed: int) -> SetParameters.Request:
    value = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=int(seed))
    return SetParameters.Request(parameters=[Parameter(name="seed", value=value)])

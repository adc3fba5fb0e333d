"""The topic contract between a robot (real driver or ``sim_robot_node``) and ``RosRobotEnv``.

Names are relative to the robot's namespace (``/robot`` by default). Standard messages only:

==========================  ==================================  =============================================
name                        type                                meaning
==========================  ==================================  =============================================
``joint_states``            ``sensor_msgs/JointState``          arm + finger joints: position, velocity
``tcp_pose``                ``geometry_msgs/PoseStamped``       measured TCP pose, base frame
``tcp_twist``               ``geometry_msgs/TwistStamped``      measured TCP velocity, base frame
``wrench``                  ``geometry_msgs/WrenchStamped``     force/torque at the flange, base frame
``cameras/<name>/image``    ``sensor_msgs/Image`` (rgb8)        one per camera
``task_state``              ``std_msgs/Float64MultiArray``      ``stamp`` (the tick's header stamp, s),
                                                                ``success``, ``reward`` and simulator-only
                                                                object state; one layout dimension per
                                                                named part (label = name, size = length)
``cmd/twist``               ``geometry_msgs/TwistStamped``      TCP velocity command [m/s, rad/s], base
                                                                frame, held for one control period
``cmd/gripper``             ``std_msgs/Float64MultiArray``      ``[opening]``: 0 closed ... 1 fully open
``estop_state``             ``std_msgs/Bool``                   e-stop latched (every tick and on change)
``estop``, ``estop_release`` ``std_srvs/Trigger`` (services)    latch the e-stop; release it
``reset``                   ``std_srvs/Trigger`` (service)      go to the start state of a new episode; the
                                                                reply's message may name the start state's
                                                                stamp as ``stamp=<sec>.<nanosec>``
``robot_info``              ``std_srvs/Trigger`` (service)      optional; the reply names the robot's tick
                                                                rate as ``control_hz=<Hz>`` (asked once,
                                                                before any motion)
==========================  ==================================  =============================================

A robot publishes one full set of state messages per control tick, all with the same header stamp.
"""

from __future__ import annotations

import re

JOINT_STATES = "joint_states"
TCP_POSE = "tcp_pose"
TCP_TWIST = "tcp_twist"
WRENCH = "wrench"
TASK_STATE = "task_state"
# task_state parts that are not privileged observations; ``command``: the header stamp of the last twist
# command the state has applied (simulated robots publish it; RosRobotEnv then waits for its own)
TASK_FIELDS = ("stamp", "success", "reward", "command")
CMD_TWIST = "cmd/twist"
CMD_GRIPPER = "cmd/gripper"
RESET = "reset"
ROBOT_INFO = "robot_info"
ESTOP = "estop"
ESTOP_RELEASE = "estop_release"
ESTOP_STATE = "estop_state"
#: How the reset service's refusal starts while the e-stop is latched (RosRobotEnv waits for the release).
RESET_REFUSED_ESTOP = "refused: e-stop latched"
BASE_FRAME = "base"


def camera_topic(camera: str) -> str:
    return f"cameras/{camera}/image"


def stamp_seconds(stamp) -> float:
    """A ``builtin_interfaces/Time`` as float seconds (microsecond-exact for today's epoch times)."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_token(stamp) -> str:
    return f"stamp={stamp.sec}.{stamp.nanosec:09d}"


def parse_stamp_token(text: str) -> float | None:
    """Seconds from a ``stamp=<sec>.<nanosec>`` token in ``text``, None if there is none."""
    match = re.search(r"stamp=(\d+)\.(\d{9})", text)
    return None if match is None else int(match[1]) + int(match[2]) * 1e-9


def rate_token(control_hz: float) -> str:
    return f"control_hz={control_hz:g}"


def parse_rate_token(text: str) -> float | None:
    """The robot's control rate [Hz] from a ``control_hz=<Hz>`` token in ``text``, None if there is none."""
    match = re.search(r"control_hz=(\d+(?:\.\d*)?(?:e[-+]?\d+)?)", text)
    return None if match is None else float(match[1])

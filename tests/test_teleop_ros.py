"""Teleop over ROS 2: a ``sensor_msgs/Joy`` topic as a device, and teleop_node relaying a device to another
process (the ``teleop_topic`` device). Discovery on loopback, a random domain; processes ended by PID.
"""

from __future__ import annotations

import itertools
import subprocess
import time

import numpy as np
import pytest

pytest.importorskip("rclpy")

from sensor_msgs.msg import Joy

from drivers.teleop import DeviceNotFound, TeleopState, load_device
from tests.processes import BIN, RosProbe, running

pytestmark = pytest.mark.ros


def read_until(device, predicate, timeout_s: float = 10.0) -> list[TeleopState]:
    """Read every 5 ms until ``predicate(state)``; all states read, the last one satisfying it."""
    states, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states.append(device.read())
        if predicate(states[-1]):
            return states
        time.sleep(0.005)
    raise AssertionError(f"no such state within {timeout_s} s; last: {states[-1]}")


def read_for(device, seconds: float) -> list[TeleopState]:
    states, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        states.append(device.read())
        time.sleep(0.005)
    return states


def joy(axes: list[float], pressed: tuple[int, ...] = ()) -> Joy:
    return Joy(
        axes=[float(a) for a in axes] + [0.0] * (8 - len(axes)),
        buttons=[int(i in pressed) for i in range(11)],
    )


def test_joy_topic_maps_axes_and_buttons_and_goes_quiet(ros_env) -> None:
    probe = RosProbe("joy_driver")  # plays joy_node: repeats the pad's state at 50 Hz
    current = [joy([-0.55, 1.0])]
    publisher = probe.node.create_publisher(Joy, "test_joy", 10)
    probe.node.create_timer(0.02, lambda: current[0] and publisher.publish(current[0]))
    try:
        with pytest.raises(DeviceNotFound) as err:
            load_device("joy", ["topic=no_pad", "timeout_s=2"])
        assert "no sensor_msgs/msg/Joy message on /no_pad within 2 s" in str(err.value)
        assert "Joy topics published: /test_joy (" in str(err.value)
        device = load_device("joy", ["topic=test_joy", "timeout_s=15", "stale_s=0.3", "gripper_mode=hold"])
        try:
            # joy.yaml: axis1 -> dx, axis0 -> dy, deadzone 0.1: 0.55 -> 0.5
            states = read_until(device, lambda s: s.action[0] == 1.0)
            np.testing.assert_allclose(states[-1].action, [1.0, -0.5, 0, 0, 0, 0, -1.0], atol=1e-5)
            current[0] = joy([0, 0.5, 0, 0.3, 0, 0, 1.0, -1.0], pressed=(0, 5, 4))  # A, RB, LB held
            states = read_until(device, lambda s: s.intervening)
            np.testing.assert_allclose(
                states[-1].action, [(0.5 - 0.1) / 0.9, 0, -1, -1, 0, 0.2 / 0.9, 1], atol=1e-5
            )
            states += read_for(device, 0.3)  # the driver repeats the held buttons ~15 times
            assert sum("success" in s.events for s in states) == 1  # held A: one success
            assert states[-1].intervening and states[-1].action[6] == 1.0  # RB and LB still held
            current[0] = None  # the driver stops: after stale_s the pad reads neutral
            states = read_until(device, lambda s: not s.intervening)
            np.testing.assert_allclose(states[-1].action, [0, 0, 0, 0, 0, 0, -1], atol=1e-6)
        finally:
            device.close()
    finally:
        probe.close()


SEGMENTS = (
    "[{steps:10,action:[0.5,0,-0.25,0,0,1,1],intervening:true,events:[]},"
    "{steps:1,action:[0,0,0,0,0,0,-1],intervening:false,events:[success,discard]}]"
)


def test_teleop_node_relays_a_device_to_another_process(ros_env, tmp_path) -> None:
    node = [
        str(BIN / "teleop_node"), "--ros-args", "-p", "device:=scripted", "-p", "rate_hz:=50.0",
        "-p", f"overrides:=loop=true segments={SEGMENTS}", "-p", "max_linear_speed:=0.2",
    ]  # fmt: skip
    with running(node, ros_env, tmp_path / "teleop_node.log") as proc:
        relay = load_device("teleop_topic", ["timeout_s=20"])
        try:
            states = read_until(relay, lambda s: s.intervening)
            states += read_until(relay, lambda s: bool(s.events) and not s.intervening)
            states += read_until(relay, lambda s: "success" in s.events)  # a second cycle
        finally:
            relay.close()
        assert proc.poll() is None
    # twist / max speeds: the action the scripted operator gave, back in [-1, 1]
    driving = [s.action for s in states if s.intervening]
    given = [0.5, 0, -0.25, 0, 0, 1, 1]
    assert sum(np.allclose(action, given, atol=1e-6) for action in driving) > len(driving) // 2, driving
    seen = [s.events for s in states if s.events]
    assert set().union(*seen) == {"success", "discard"}
    # Events come once per cycle (every 11 ticks = 220 ms); reads 5 ms apart never see one twice.
    assert all(not (a.events & b.events) for a, b in itertools.pairwise(states))


def test_an_episode_started_by_the_reader_restarts_the_operator_in_teleop_node(ros_env, tmp_path) -> None:
    """The recorder's (or actor's) reset reaches teleop_node: a restart=true script starts over there."""
    segments = "[{steps:15,action:[0.5,0,0,0,0,0,1],intervening:true},{steps:100000,intervening:false}]"
    node = [
        str(BIN / "teleop_node"), "--ros-args", "-p", "device:=scripted", "-p", "rate_hz:=50.0",
        "-p", f"overrides:=restart=true segments={segments}",
    ]  # fmt: skip
    log = tmp_path / "teleop_node.log"
    with running(node, ros_env, log) as proc:
        relay = load_device("teleop_topic", ["timeout_s=20"])
        try:
            read_until(relay, lambda s: not s.intervening and s.action[0] == 0.0)  # past the first segment
            assert not any(s.intervening for s in read_for(relay, 1.0))  # let go: 100000 ticks to watch
            relay.forget_events()  # episode 1 starts
            restarted = read_until(relay, lambda s: s.intervening)
        finally:
            relay.close()
        assert proc.poll() is None
    np.testing.assert_allclose(restarted[-1].action, [0.5, 0, 0, 0, 0, 0, 1], atol=1e-6)
    assert "episode 1 started" in log.read_text()


def test_an_episode_start_drops_the_last_episodes_operator_state_in_the_reader(ros_env, tmp_path) -> None:
    """The operator held control when the last episode ended; the new one starts with the policy in
    control, not with that state replayed until teleop_node's reset arrives."""
    segments = "[{steps:10,intervening:false},{steps:100000,action:[0.5,0,0,0,0,0,1],intervening:true}]"
    node = [
        str(BIN / "teleop_node"), "--ros-args", "-p", "device:=scripted", "-p", "rate_hz:=50.0",
        "-p", f"overrides:=restart=true segments={segments}",
    ]  # fmt: skip
    with running(node, ros_env, tmp_path / "teleop_node.log"):
        relay = load_device("teleop_topic", ["timeout_s=20"])
        try:
            read_until(relay, lambda s: s.intervening)  # the operator holds control at the episode's end
            relay.forget_events()  # the next episode starts
            states = read_until(relay, lambda s: s.intervening)  # ... and the operator takes over again
        finally:
            relay.close()
    handed_back = list(itertools.takewhile(lambda s: not s.intervening, states))
    assert len(handed_back) >= 5  # the restarted script's 10 ticks (200 ms) of watching, read every 5 ms
    for state in handed_back:
        np.testing.assert_allclose(state.action, [0, 0, 0, 0, 0, 0, -1], atol=1e-6)  # gripper open


def test_a_state_topic_of_another_shape_is_ignored_with_an_error(ros_env, capfd) -> None:
    """A joystick driver published on teleop/state (8 axes, 11 buttons) is not read as an operator."""
    probe = RosProbe("not_teleop_node")
    publisher = probe.node.create_publisher(Joy, "teleop/state", 10)
    probe.node.create_timer(0.02, lambda: publisher.publish(joy([1.0] * 8, pressed=(0,))))
    try:
        relay = load_device("teleop_topic", ["timeout_s=20"])
        try:
            states = read_for(relay, 0.5)
        finally:
            relay.close()
    finally:
        probe.close()
    assert not any(s.intervening for s in states)
    for state in states:
        np.testing.assert_allclose(state.action, [0, 0, 0, 0, 0, 0, -1], atol=1e-6)
    assert "carries 8 axes and 11 buttons, not teleop_node's 7 and 1: ignored" in capfd.readouterr().err


def test_teleop_node_without_its_device_exits_with_one_message(ros_env) -> None:
    node = [
        str(BIN / "teleop_node"),
        "--ros-args",
        "-p",
        "device:=gamepad",
        "-p",
        "overrides:=path=/dev/input/event9",
    ]
    out = subprocess.run(node, env=ros_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "/dev/input/event9 does not exist; input devices here:" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr + out.stdout

"""The arm driver: IK tracking error on test trajectories, and the command path latency over ROS 2.

Run from the repository root with the project venv (~1 min)::

    .venv/bin/python benchmarks/driver.py --out benchmarks/results/driver.json

1. ``ik``: ``ControllerArmEnv``'s differential IK on the FR3/Panda kinematic model
   (``sim/assets/panda/panda_kinematics.xml``), open loop: each control step solves for the next TCP
   target from the previous solution and the error is |FK(q) - target| (position) and the rotation
   angle between the orientations. Trajectories at 10 Hz inside the fr3 profile's box: a 10 cm circle,
   a 30 cm line, random waypoints (3 cm steps), and a yaw sweep of +-0.5 rad.
2. ``latency``: fake_arm_node + arm_driver_node (each its own process, ``control_hz``) and
   ``RosRobotEnv`` in this process; latency = time from the actor's ``step`` (which publishes the
   twist at once) to the joint command arriving on ``/forward_position_controller/commands``, measured
   with one monotonic clock in this process (a probe node subscribes to the controller topic).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HOME_TCP = np.array([0.307, 0.0, 0.487])


def stats(values: np.ndarray) -> dict[str, float]:
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(values.max())}


def trajectories(rng: np.random.Generator) -> dict[str, list[tuple[np.ndarray, float]]]:
    """name -> [(TCP position, yaw offset), ...] at 10 Hz."""
    t = np.arange(100) / 10.0
    centre = np.array([0.45, 0.0, 0.35])
    circle = [(centre + 0.1 * np.array([np.cos(w), np.sin(w), 0.0]), 0.0) for w in 2 * np.pi * t / 10]
    line = [(centre + np.array([0.0, -0.15 + 0.3 * s, 0.0]), 0.0) for s in np.linspace(0, 1, 100)]
    points, p = [], centre.copy()
    for _ in range(100):
        p = np.clip(p + rng.uniform(-0.03, 0.03, 3) / np.sqrt(3), [0.35, -0.2, 0.1], [0.65, 0.2, 0.45])
        points.append((p.copy(), 0.0))
    yaw = [(centre, 0.5 * np.sin(2 * np.pi * s / 10)) for s in t]
    return {"circle_10cm": circle, "line_30cm": line, "random_waypoints": points, "yaw_sweep": yaw}


def ik_tracking() -> dict:
    import mujoco

    from drivers.robot_profile import RobotProfile
    from robot_rl.config import load_config, to_dataclass
    from robot_rl.geometry import quat_from_rotvec, quat_mul, rotvec_from_quat
    from sim.controller import DiffIKController

    profile = to_dataclass(RobotProfile, load_config("driver", []).robot, "robot")
    model = mujoco.MjModel.from_xml_path(str(profile.model_path()))
    data = mujoco.MjData(model)
    site = model.site(profile.tcp_site).id
    ik = DiffIKController(model, profile.model_joints, profile.tcp_site, np.array(profile.home_qpos),
                          np.array(profile.max_joint_vel))  # fmt: skip
    home_quat = np.array(profile.home_quat)
    results = {}
    for name, path in trajectories(np.random.default_rng(0)).items():
        data.qpos[:7] = profile.home_qpos
        pos_err, rot_err = [], []
        # Move to the start first (not measured), then follow the path at 10 Hz.
        for target, yaw in [(path[0][0], path[0][1])] * 30 + path:
            quat = quat_mul(quat_from_rotvec(np.array([0.0, 0.0, yaw])), home_quat)
            data.qpos[:7] = ik.solve(data, target, quat, 0.1)
            mujoco.mj_kinematics(model, data)
            reached = np.zeros(4)
            mujoco.mju_mat2Quat(reached, data.site_xmat[site])
            pos_err.append(float(np.linalg.norm(data.site_xpos[site] - target)))
            rot_err.append(float(np.linalg.norm(rotvec_from_quat(quat_mul(quat, reached * [1, -1, -1, -1])))))
        pos_mm, rot_deg = np.array(pos_err[30:]) * 1000, np.degrees(rot_err[30:])
        results[name] = {"position_mm": stats(pos_mm), "rotation_deg_max": float(rot_deg.max())}
    return results


def latency(hz: float, steps: int) -> dict:
    import subprocess

    import gymnasium as gym
    from std_msgs.msg import Float64MultiArray

    import robot_rl  # noqa: F401
    from tests.processes import RosProbe

    env_vars = {**os.environ, "AMENT_PREFIX_PATH": str(Path(sys.prefix))}
    bin_dir = Path(sys.executable).parent
    fake = subprocess.Popen([str(bin_dir / "fake_arm_node")], env=env_vars,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    drv = subprocess.Popen([str(bin_dir / "arm_driver_node"), "--ros-args", "-r", "__ns:=/robot",
                            "-p", f"overrides:=control_hz={hz:g}"], env=env_vars,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    probe = RosProbe("latency_probe")
    commands = probe.record(Float64MultiArray, "/forward_position_controller/commands")
    try:
        env = gym.make(
            "robot_rl/RosRobot-v0", disable_env_checker=True, namespace="/robot", control_hz=hz,
            arm_joints=[f"fr3_joint{i}" for i in range(1, 8)], gripper_joint="fr3_finger_joint1",
            wrench=False, task_state=False, sim_node="", timeout_s=20.0,
        )  # fmt: skip
        env.reset()
        sends, periods, last = [], [], None
        rng = np.random.default_rng(0)
        for _ in range(steps):
            action = np.append(rng.uniform(-0.5, 0.5, 3), [0, 0, 0, -1]).astype(np.float32)
            sends.append(time.monotonic())
            env.step(action)
            now = time.monotonic()
            if last is not None:
                periods.append(now - last)
            last = now
        time.sleep(0.2)
        env.close()
    finally:
        probe.close()
        for proc in (drv, fake):
            proc.terminate()
            proc.wait(10)
    arrivals = np.array([t for t, _ in commands])
    delays = []
    for sent in sends[5:]:
        later = arrivals[arrivals > sent]
        if later.size:
            delays.append(later[0] - sent)
    delays_ms = np.array(delays) * 1000
    periods_ms = np.array(periods[5:]) * 1000
    return {"control_hz": hz, "steps": steps, "commands_matched": len(delays),
            "command_latency_ms": stats(delays_ms), "actor_period_ms": stats(periods_ms)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "driver.json")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length per rate")
    args = parser.parse_args()
    results = {"ik": ik_tracking(), "latency": [latency(hz, int(args.seconds * hz)) for hz in (10.0, 50.0)],
               "date": datetime.date.today().isoformat(), "command": " ".join(sys.argv)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

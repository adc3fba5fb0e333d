"""Transport and actor-loop timing: ZeroMQ transitions/s with two 128x128 images, weight-broadcast
latency, and the actor loop's period jitter at 10 Hz and 50 Hz over ROS 2.

Run from the repository root with the project venv (~3 min)::

    .venv/bin/python benchmarks/transport.py --out benchmarks/results/transport.json

1. ``throughput``: an actor process streams transitions (obs and next_obs with the pick-cube state and
   two 128x128x3 uint8 images, as ``distributed.Actor`` sends them) to a ``LearnerServer`` in this
   process over loopback TCP, plain and with CURVE; rate = transitions acknowledged by the learner /
   time from the actor's first ``add`` to the last acknowledgement.
2. ``weights``: the learner publishes the policy's safetensors (state-based and image-based pick-cube
   SAC actors) to a live actor process 50 times; latency = publish -> received, and -> loaded into the
   actor's policy (CLOCK_MONOTONIC is shared by processes).
3. ``actor_loop``: ``sim_robot_node`` ticks in real time (another process); ``distributed.Actor`` steps
   ``RosRobotEnv`` with a SAC policy and streams to a learner process; the loop period is the time
   between consecutive step ends. Reported: period p50/p99 and jitter |period - 1/control_hz| p50/p99.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # discovery on loopback only
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def progress(msg: str) -> None:
    print(f"[transport] {msg}", file=sys.stderr, flush=True)


def percentiles(values: list[float], scale: float = 1e3) -> dict[str, float]:
    arr = np.asarray(values) * scale
    return {
        "p50": float(np.percentile(arr, 50)),
        "p99": float(np.percentile(arr, 99)),
        "max": float(arr.max()),
    }


def image_transition(rng: np.random.Generator) -> dict[str, Any]:
    def obs() -> dict[str, np.ndarray]:
        return {
            "state.tcp_pose": rng.standard_normal(7).astype(np.float32),
            "state.tcp_vel": rng.standard_normal(6).astype(np.float32),
            "state.gripper_pos": rng.standard_normal(1).astype(np.float32),
            "images.front": rng.integers(0, 255, (128, 128, 3), dtype=np.uint8),
            "images.wrist": rng.integers(0, 255, (128, 128, 3), dtype=np.uint8),
        }

    return {"obs": obs(), "action": np.zeros(4, np.float32), "reward": 0.0, "next_obs": obs(),
            "terminated": False, "truncated": False, "first": False, "success": False}  # fmt: skip


# ------------------------------------------------------------------------------------------ processes
def stream_actor(endpoint: str, count: int, keys_dir: str | None, result: Any) -> None:
    from robot_rl.transport.actor_client import ActorClient
    from robot_rl.transport.keys import CurveKeys

    client = ActorClient(endpoint, "bench", keys=CurveKeys.actor(keys_dir, "bench") if keys_dir else None)
    rng = np.random.default_rng(0)
    samples = [image_transition(rng) for _ in range(16)]
    while not client.learner_alive:
        client.poll(0.05)
    start = time.monotonic()
    for i in range(count):
        client.add(samples[i % len(samples)])
    client.flush()
    deadline = time.monotonic() + 120
    while client.acked_transitions < count and time.monotonic() < deadline:
        client.poll(0.001)
    result.put((client.acked_transitions, time.monotonic() - start))
    client.close()


def weights_actor(endpoint: str, image: bool, times: Any) -> None:
    import torch
    from safetensors.torch import load

    from robot_rl.transport.actor_client import ActorClient

    torch.set_num_threads(1)
    agent = make_agent(image)
    client = ActorClient(endpoint, "weights")
    while True:
        data = client.poll(0.001)
        if data is not None:
            received = time.monotonic()
            agent.load_policy_state(load(data))
            times.put((client.weights_version, received, time.monotonic()))


def sink_learner(endpoint: str, stop: Any) -> None:
    """A learner that accepts everything and grants credit at once (no training)."""
    from robot_rl.transport.learner_server import LearnerServer

    server = LearnerServer(endpoint)
    while not stop.is_set():
        for _actor, session, items in server.poll(0.01):
            server.grant(session, len(items))
    server.close()


def make_agent(image: bool):
    """The pick-cube SAC agent: state (TCP, gripper, cube) or images (two cameras + TCP, gripper)."""
    from robot_rl.agents.sac import SACAgent, SACConfig
    from robot_rl.envs.interface import make_observation_space
    from robot_rl.obs import ObsSpec

    space = make_observation_space(
        7,
        wrench=True,
        cameras=("front", "wrist") if image else (),
        privileged={"cube_pos": 3, "cube_quat": 4},
    )
    state_keys = ["state.tcp_pose", "state.tcp_vel", "state.gripper_pos"] + (
        [] if image else ["privileged.cube_pos"]
    )
    return SACAgent(ObsSpec.from_space(space, state_keys), 4, SACConfig(), seed=0)


def free_endpoint() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


# ------------------------------------------------------------------------------------------ measurements
def throughput(count: int, curve: bool, tmp: Path) -> dict[str, Any]:
    from robot_rl.transport.keys import CurveKeys, make_keys
    from robot_rl.transport.learner_server import LearnerServer
    from robot_rl.transport.wire import encode

    keys_dir = None
    if curve:
        keys_dir = str(tmp / "keys")
        make_keys(keys_dir, ("learner", "bench"))
    endpoint = free_endpoint()
    server = LearnerServer(endpoint, keys=CurveKeys.learner(keys_dir) if keys_dir else None)
    ctx = mp.get_context("spawn")
    result = ctx.Queue()
    actor = ctx.Process(target=stream_actor, args=(endpoint, count, keys_dir, result))
    actor.start()
    while actor.is_alive() and result.empty():
        for _actor, session, items in server.poll(0.01):
            server.grant(session, len(items))
    acked, elapsed = result.get(timeout=10)
    actor.join(30)
    server.close()
    batch = [image_transition(np.random.default_rng(0))] * 16
    size = len(encode({"type": "transitions", "actor": "a", "session": "s", "seq": 0, "items": batch})) / 16
    rate = acked / elapsed
    return {"transitions": acked, "seconds": elapsed, "transitions_per_s": rate,
            "bytes_per_transition": size, "MB_per_s": rate * size / 1e6, "curve": curve}  # fmt: skip


def weight_latency(image: bool, repeats: int) -> dict[str, Any]:
    from safetensors.torch import save

    from robot_rl.transport.learner_server import LearnerServer

    data = save({k: v.contiguous() for k, v in make_agent(image).policy_state().items()})
    endpoint = free_endpoint()
    server = LearnerServer(endpoint)
    ctx = mp.get_context("spawn")
    times = ctx.Queue()
    actor = ctx.Process(target=weights_actor, args=(endpoint, image, times), daemon=True)
    actor.start()
    while not server.live_actors():
        server.poll(0.05)
    sent: dict[int, float] = {}
    received, loaded = [], []
    for _ in range(repeats + 1):
        version = server.publish_weights(data)
        sent[version] = time.monotonic()
        while True:
            server.poll(0.001)
            if not times.empty():
                v, t_recv, t_load = times.get()
                if v == version:
                    break
        if version > 1:  # the first broadcast also pays for the actor's connection warm-up
            received.append(t_recv - sent[version])
            loaded.append(t_load - sent[version])
        time.sleep(0.05)
    actor.terminate()
    actor.join(5)
    server.close()
    return {"bytes": len(data), "publish_to_received_ms": percentiles(received),
            "publish_to_loaded_ms": percentiles(loaded), "repeats": repeats}  # fmt: skip


def actor_loop(hz: float, steps: int, images: bool, tmp: Path) -> dict[str, Any]:
    import gymnasium as gym
    import torch

    import robot_rl  # noqa: F401
    from robot_rl.distributed.actor import Actor
    from robot_rl.envs.wrappers import RestrictDoF
    from robot_rl.transport.actor_client import ActorClient

    torch.set_num_threads(1)
    overrides = f"task=pick_cube task.control_hz={hz:g} task.images={str(images).lower()}"
    env_vars = {**os.environ, "AMENT_PREFIX_PATH": str(Path(sys.prefix)), "ROS_LOG_DIR": str(tmp / "ros_log")}
    sim = subprocess.Popen(
        [str(Path(sys.executable).parent / "sim_robot_node"), "--ros-args", "-r", "__ns:=/robot",
         "-p", f"overrides:={overrides}", "-p", "realtime:=true"],
        env=env_vars, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = free_endpoint()
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    learner = ctx.Process(target=sink_learner, args=(endpoint, stop), daemon=True)
    learner.start()
    try:
        env = RestrictDoF(
            gym.make("robot_rl/RosRobot-v0", disable_env_checker=True, control_hz=hz, images=images),
            [0, 1, 2, 6],
        )
        env = gym.wrappers.TimeLimit(env, max_episode_steps=100)
        agent = make_agent(images)
        client = ActorClient(endpoint, "loop")
        actor = Actor(env, agent, client, realtime=True, seed=0)
        client.weights_version = 1  # act with the (untrained) policy, not uniform noise: time the real path
        actor.run(total_steps=steps)
        client.close()
        env.close()
    finally:
        stop.set()
        learner.join(10)
        sim.terminate()
        sim.wait(10)
    ends = np.asarray(actor.step_times)
    periods = np.diff(ends)[5:]  # skip the first steps (discovery, first weights)
    return {"control_hz": hz, "images": images, "steps": steps, "period_ms": percentiles(list(periods)),
            "jitter_ms": percentiles(list(np.abs(periods - 1.0 / hz))),
            "realised_hz": float(1.0 / periods.mean())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transport.json")
    parser.add_argument("--transitions", type=int, default=2000, help="transitions per throughput run")
    parser.add_argument("--seconds", type=float, default=20.0, help="actor-loop run length per rate")
    args = parser.parse_args()
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="robot_rl_transport_"))
    results: dict[str, Any] = {"throughput": [], "weights": [], "actor_loop": []}
    for curve in (False, True):
        progress(f"throughput, CURVE={curve}")
        results["throughput"].append(throughput(args.transitions, curve, tmp))
    for image in (False, True):
        progress(f"weight broadcast, image policy={image}")
        results["weights"].append({"image_policy": image, **weight_latency(image, 50)})
    for images in (False, True):
        for hz in (10.0, 50.0):
            progress(f"actor loop over ROS 2 at {hz:g} Hz, images={images}")
            results["actor_loop"].append(actor_loop(hz, int(args.seconds * hz), images, tmp))
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
        "command": " ".join(sys.argv),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Running a trained policy on a robot without learning: the evaluation report of ``robot-rl deploy``.

The env is built exactly as the actor builds it (``make_env``: the safety shield right around the robot,
then the DoF restriction and, for residual RL, the base action); this loop steps it with the policy's
deterministic action at the robot's pace and keeps what an operator wants to know afterwards: the success
rate, the cycle time (policy + env step: on a ROS robot that includes waiting for its next tick; the
pacer's sleep and video frames are not counted), and every time the shield stepped in (``shield_events``;
``shield_trips`` leaves out the routine clipping to the limits, ``safety/shield.py::ROUTINE_LAYERS``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from robot_rl.data.layout import flatten_obs
from robot_rl.envs.pacing import Pacer
from robot_rl.safety.shield import ROUTINE_LAYERS


def run_policy(
    env: gym.Env,
    policy: Callable[[dict[str, np.ndarray]], np.ndarray],
    episodes: int,
    *,
    seed: int = 0,
    realtime: bool = False,
    video_episodes: int = 0,
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """``episodes`` seeded episodes; returns the report and the rendered frames of the first
    ``video_episodes`` episodes (empty where the env cannot render)."""
    pacer = Pacer(env, realtime=realtime)
    successes, returns, lengths, cycle_s = [], [], [], []
    shield: Counter[str] = Counter()
    frames: list[np.ndarray] = []
    for episode in tqdm(range(episodes), desc="deploy", unit="episode"):
        obs, _ = env.reset(seed=seed * 100_003 + episode)
        record = episode < video_episodes
        pacer.restart()
        done, ret, length, info = False, 0.0, 0, {"success": False}
        while not done:
            start = time.monotonic()
            obs, reward, terminated, truncated, info = env.step(policy(flatten_obs(obs)))
            cycle_s.append(time.monotonic() - start)
            ret, length, done = ret + float(reward), length + 1, terminated or truncated
            shield.update(event["layer"] for event in info.get("safety", []))
            if record and (frame := env.render()) is not None:
                frames.append(frame)
            pacer.wait()
        successes.append(bool(info.get("success", False)))
        returns.append(ret)
        lengths.append(length)
    cycle_ms = 1000.0 * np.asarray(cycle_s)
    trips = {layer: n for layer, n in shield.items() if layer not in ROUTINE_LAYERS}
    report = {
        "episodes": episodes,
        "success_rate": float(np.mean(successes)),
        "successes": successes,
        "mean_return": float(np.mean(returns)),
        "mean_episode_steps": float(np.mean(lengths)),
        "cycle_time_ms": {"mean": float(cycle_ms.mean()), "p50": float(np.percentile(cycle_ms, 50)),
                          "p95": float(np.percentile(cycle_ms, 95)), "max": float(cycle_ms.max())},
        "shield_events": dict(shield),  # every event per safety layer, routine clipping included
        "shield_trips": trips,  # the ones that are news: a trigger, a backup taking over, an e-stop ...
        "shield_trips_total": int(sum(trips.values())),
    }  # fmt: skip
    return report, frames

"""A real actor or learner process for the transport tests (run as a script; no ROS, no simulator).

    python tests/transport_peer.py actor  ENDPOINT STATUS_FILE [--keys DIR] [--rate HZ]
    python tests/transport_peer.py learner ENDPOINT LOG_FILE

The actor sends transitions whose observation is a running index, at ``--rate`` per second, and keeps
writing its status (acknowledged count, weights version, unsent count) to STATUS_FILE. The learner
appends every accepted index to LOG_FILE, one per line, flushed per batch.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.keys import CurveKeys
from robot_rl.transport.learner_server import LearnerServer


def run_actor(args: argparse.Namespace) -> None:
    keys = CurveKeys.actor(args.keys) if args.keys else None
    client = ActorClient(args.endpoint, "peer", keys=keys, batch_size=8, flush_s=0.05)
    index = 0
    while True:
        obs = {"state": np.array([index], np.float32)}
        client.add({"obs": obs, "action": np.zeros(2, np.float32), "reward": 0.0, "next_obs": obs,
                    "terminated": False, "truncated": False})  # fmt: skip
        index += 1
        client.poll()
        status = {
            "sent": index,
            "acked": client.acked_transitions,
            "weights_version": client.weights_version,
            "unsent": client.unsent_transitions,
            "learner_alive": client.learner_alive,
        }
        tmp = args.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(status, f)
        os.replace(tmp, args.file)
        time.sleep(1.0 / args.rate)


def run_learner(args: argparse.Namespace) -> None:
    server = LearnerServer(args.endpoint)
    with open(args.file, "a") as log:
        while True:
            for _, _, items in server.poll(0.05):
                log.write("".join(f"{int(t['obs']['state'][0])}\n" for t in items))
                log.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["actor", "learner"])
    parser.add_argument("endpoint")
    parser.add_argument("file")
    parser.add_argument("--keys")
    parser.add_argument("--rate", type=float, default=200.0)
    parsed = parser.parse_args()
    run_actor(parsed) if parsed.role == "actor" else run_learner(parsed)

"""Actor/learner transport with real processes and real sockets on 127.0.0.1 (issue #4's bar)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq

from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.keys import CurveKeys, make_keys
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.wire import WireError, decode, encode
from tests.processes import stop

PEER = str(Path(__file__).with_name("transport_peer.py"))


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, PEER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, timeout_s: float = 20.0, poll=None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if poll is not None:
            poll()
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def read_status(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def test_killed_actor_loses_nothing_it_sent_and_a_restarted_one_gets_the_latest_weights(tmp_path) -> None:
    endpoint = free_endpoint()
    server = LearnerServer(endpoint, peer_timeout_s=1.0)
    received: list[int] = []

    def pump() -> None:
        for _, _, items in server.poll(0.01):
            received.extend(int(t["obs"]["state"][0]) for t in items)

    status_file = tmp_path / "actor.json"
    actor = start("actor", endpoint, str(status_file))
    try:
        server.publish_weights(b"weights-v1")
        wait_for(lambda: len(received) >= 300, poll=pump)
        server.publish_weights(b"weights-v2")
        wait_for(lambda: read_status(status_file).get("weights_version") == 2, poll=pump)
        os.kill(actor.pid, signal.SIGKILL)  # mid-episode, mid-batch
        actor.wait(timeout=5)
        acked = read_status(status_file)["acked"]
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            pump()
        # everything the actor saw acknowledged is stored, exactly once and in order
        assert len(received) >= acked > 0
        assert received == list(range(len(received)))

        server.publish_weights(b"weights-v3")
        status_file.unlink()
        restarted = start("actor", endpoint, str(status_file))
        try:
            wait_for(lambda: read_status(status_file).get("weights_version") == 3, poll=pump)
            wait_for(lambda: read_status(status_file).get("acked", 0) > 0, poll=pump)
        finally:
            stop(restarted)
    finally:
        stop(actor)
        server.close()


def test_actor_keeps_acting_while_learner_is_away_and_delivers_on_return(tmp_path) -> None:
    endpoint = free_endpoint()
    log_file = tmp_path / "learner.log"
    learner = start("learner", endpoint, str(log_file))
    client = ActorClient(endpoint, "test", batch_size=8, flush_s=0.05, peer_timeout_s=1.0, max_unsent=100_000)
    sent = 0

    def act(n: int) -> None:
        nonlocal sent
        for _ in range(n):
            obs = {"state": np.array([sent], np.float32)}
            client.add({"obs": obs, "action": np.zeros(2, np.float32), "reward": 0.0, "next_obs": obs,
                        "terminated": False, "truncated": False})  # fmt: skip
            sent += 1
            time.sleep(0.002)

    try:
        wait_for(lambda: client.learner_alive, poll=client.poll)
        act(200)
        wait_for(lambda: client.acked_transitions == 200, poll=client.poll)
        os.kill(learner.pid, signal.SIGKILL)
        learner.wait(timeout=5)
        act(300)  # the actor goes on acting while the learner is gone
        wait_for(lambda: not client.learner_alive, poll=client.poll)
        act(100)
        client.flush()
        assert client.unsent_transitions == 400 and client.dropped_transitions == 0

        learner = start("learner", endpoint, str(log_file))
        wait_for(lambda: client.unsent_transitions == 0, timeout_s=30, poll=client.poll)
        stop(learner)
        stored = {int(line) for line in log_file.read_text().split()}
        assert stored == set(range(600))
    finally:
        stop(learner)
        client.close()


def test_weights_that_arrive_while_adding_a_transition_reach_the_next_poll() -> None:
    """add() handles incoming messages too; weights it sees must still be handed to the actor's poll()."""
    endpoint = free_endpoint()
    server = LearnerServer(endpoint)
    client = ActorClient(endpoint, "busy", batch_size=1)
    obs = {"state": np.zeros(1, np.float32)}
    transition = {"obs": obs, "action": np.zeros(1, np.float32), "reward": 0.0, "next_obs": obs,
                  "terminated": False, "truncated": False}  # fmt: skip
    try:
        wait_for(lambda: server.live_actors() == ["busy"], poll=lambda: (server.poll(0.01), client.poll()))
        server.publish_weights(b"weights-v1")

        def add_one() -> None:
            client.add(transition)
            server.poll(0.0)

        wait_for(lambda: client.weights_version == 1, poll=add_one)  # seen inside add(), not in a poll()
        assert client.poll() == b"weights-v1"
        assert client.poll() is None  # handed out once
    finally:
        client.close()
        server.close()


def test_an_actor_that_missed_a_weights_message_asks_for_it_again() -> None:
    endpoint = free_endpoint()
    server = LearnerServer(endpoint, heartbeat_s=0.05)
    client = ActorClient(endpoint, "late", heartbeat_s=0.05)

    def pump() -> None:
        server.poll(0.01)
        client.poll()

    try:
        wait_for(lambda: client.learner_alive, poll=pump)
        settle = time.monotonic() + 0.3
        while time.monotonic() < settle:  # the hellos are handled: only a heartbeat can ask for weights now
            pump()
        server.weights, server.weights_version = b"weights-v7", 7  # as if the send to this actor was dropped
        got: list[bytes | None] = []
        wait_for(lambda: b"weights-v7" in got, poll=lambda: (server.poll(0.01), got.append(client.poll())))
        assert client.weights_version == 7
    finally:
        client.close()
        server.close()


def test_unsent_transitions_are_bounded_while_the_learner_is_away() -> None:
    client = ActorClient(free_endpoint(), "lonely", batch_size=10, max_unsent=50)
    try:
        for i in range(200):
            obs = {"state": np.array([i], np.float32)}
            client.add({"obs": obs, "action": np.zeros(1, np.float32), "reward": 0.0, "next_obs": obs,
                        "terminated": False, "truncated": False})  # fmt: skip
        assert client.unsent_transitions <= 50 + 10
        assert client.dropped_transitions >= 140
    finally:
        client.close()


def test_batches_dropped_from_a_full_outbox_do_not_stall_the_stream() -> None:
    """The learner stalls (alive, not polling) while the actor's bounded outbox drops its oldest batches:
    afterwards the learner skips the lost batches and stores everything still held, in order."""
    endpoint = free_endpoint()
    server = LearnerServer(endpoint)
    client = ActorClient(endpoint, "squeezed", batch_size=4, max_unsent=20, peer_timeout_s=0.3)
    stored: list[int] = []

    def pump() -> None:
        for _, _, items in server.poll(0.01):
            stored.extend(int(t["obs"]["state"][0]) for t in items)
        client.poll()

    def act(first: int, n: int) -> None:
        for i in range(first, first + n):
            obs = {"state": np.array([i], np.float32)}
            client.add({"obs": obs, "action": np.zeros(1, np.float32), "reward": 0.0, "next_obs": obs,
                        "terminated": False, "truncated": False})  # fmt: skip
        client.flush()

    try:
        wait_for(lambda: client.learner_alive, poll=pump)
        act(0, 8)
        wait_for(lambda: stored == list(range(8)) and client.unsent_transitions == 0, poll=pump)
        time.sleep(0.5)  # the learner stalls: the actor marks it gone and keeps acting
        client.poll()
        act(8, 40)
        lost = client.dropped_transitions
        assert lost >= 20 and client.unsent_transitions == 40 - lost  # the outbox kept the newest 20 or so
        wait_for(lambda: client.unsent_transitions == 0, poll=pump)  # used to wait forever for batch 2
        assert stored == list(range(8)) + list(range(8 + lost, 48))
    finally:
        client.close()
        server.close()


def test_a_restarted_learner_takes_up_the_actors_flow_control() -> None:
    """Credits count what one learner process consumed: after a learner restart the actor's backlog is
    measured against the new learner (it used to compare its lifetime steps with the new, smaller credit
    and wait forever)."""
    endpoint = free_endpoint()
    client = ActorClient(endpoint, "steady", batch_size=10, peer_timeout_s=0.3)

    def serve(server: LearnerServer, until) -> None:
        def pump() -> None:
            for _, session, items in server.poll(0.01):
                server.grant(session, len(items))  # this learner consumes everything at once
            client.poll()

        wait_for(until, poll=pump)

    def act(n: int) -> None:
        for i in range(n):
            obs = {"state": np.array([i], np.float32)}
            client.add({"obs": obs, "action": np.zeros(1, np.float32), "reward": 0.0, "next_obs": obs,
                        "terminated": False, "truncated": False})  # fmt: skip
        client.flush()

    first = LearnerServer(endpoint)
    try:
        serve(first, lambda: client.learner_alive)
        act(100)
        serve(first, lambda: client.backlog == 0)
    finally:
        first.close()
    wait_for(lambda: not client.learner_alive, poll=client.poll)
    act(200)  # on with the last weights while the learner is away
    assert client.backlog == 200
    second = LearnerServer(endpoint)
    try:
        serve(second, lambda: client.backlog == 0 and client.unsent_transitions == 0)
        assert client.credit == 200  # the new learner consumed the 200 it received
    finally:
        second.close()
        client.close()


def test_with_curve_a_client_without_the_key_gets_nothing(tmp_path) -> None:
    keys_dir, rogue_dir = tmp_path / "keys", tmp_path / "rogue"
    make_keys(keys_dir)
    make_keys(rogue_dir)
    (rogue_dir / "learner.key").write_bytes((keys_dir / "learner.key").read_bytes())  # knows the server key
    endpoint = free_endpoint()
    server = LearnerServer(endpoint, keys=CurveKeys.learner(keys_dir))
    server.publish_weights(b"secret-weights")
    good = ActorClient(endpoint, "good", keys=CurveKeys.actor(keys_dir))
    rogue = ActorClient(endpoint, "rogue", keys=CurveKeys.actor(rogue_dir))
    plain = ActorClient(endpoint, "plain")
    received: list[str] = []
    try:
        for client in (good, rogue, plain):
            obs = {"state": np.zeros(1, np.float32)}
            for _ in range(5):
                client.add({"obs": obs, "action": np.zeros(1, np.float32), "reward": 0.0, "next_obs": obs,
                            "terminated": False, "truncated": False})  # fmt: skip
            client.flush()

        def pump() -> None:
            received.extend(name for name, _, _ in server.poll(0.01))
            for client in (good, rogue, plain):
                client.poll()

        wait_for(lambda: good.weights == b"secret-weights" and good.acked_transitions == 5, poll=pump)
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pump()
        assert set(received) == {"good"}
        for client in (rogue, plain):
            assert client.weights is None and client.acked_transitions == 0 and not client.learner_alive
    finally:
        for client in (good, rogue, plain):
            client.close()
        server.close()


def test_malformed_and_pickled_messages_are_dropped_not_executed(tmp_path) -> None:
    endpoint = free_endpoint()
    server = LearnerServer(endpoint)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(endpoint)
    try:
        for frame in (pickle.dumps(Exploit()), b"\x93garbage", encode({"type": "hello", "actor": "x",
                      "session": "s", "weights_version": 0, "oldest": 0})[:-3]):  # fmt: skip
            raw.send(frame)
        wait_for(lambda: server.dropped_messages >= 3, poll=lambda: server.poll(0.01))
        assert not marker.exists()
    finally:
        raw.close(0)
        context.term()
        server.close()


def test_wire_round_trip_keeps_arrays_and_rejects_bad_schemas() -> None:
    image = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    obs = {"images.front": image, "state": np.ones(3, np.float32)}
    item = {"obs": obs, "action": np.zeros(2, np.float32), "reward": 1.0, "next_obs": obs,
            "terminated": False, "truncated": False}  # fmt: skip
    message = {"type": "transitions", "actor": "a", "session": "s", "seq": 3, "items": [item]}
    back = decode(encode(message))
    assert back["items"][0]["obs"]["images.front"].dtype == np.uint8
    assert np.array_equal(back["items"][0]["obs"]["images.front"], image)
    with pytest.raises(WireError, match="unknown message type"):
        decode(msgpack.packb({"type": "exec", "code": "rm -rf /"}))
    with pytest.raises(WireError, match="expected"):
        decode(msgpack.packb({"type": "hello", "actor": "x"}))
    with pytest.raises(WireError, match="at least"):  # the learner would fail on it
        decode(encode({**message, "items": [{"obs": obs, "reward": 1.0}]}))
    with pytest.raises(WireError, match="integer"):
        decode(encode({**message, "seq": "3"}))
    with pytest.raises(WireError, match="dtype"):
        decode(msgpack.packb({"type": "weights", "version": 1, "data": {"__nd__": ["|O", [1], b"x"]}}))

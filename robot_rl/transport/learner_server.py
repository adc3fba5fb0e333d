"""Learner side of the actor/learner transport: a ZeroMQ ROUTER that many actors connect to.

- Transitions arrive in small numbered batches per actor session; the server accepts them in order
  (go-back-N: a gap is dropped and resent by the actor), acknowledges the highest contiguous number,
  and ignores duplicates, so a resent batch is stored exactly once. Hellos and heartbeats carry the
  lowest batch number the actor still holds: a learner meeting a session starts there (not at whichever
  batch happens to arrive first), and skips, with a warning, the batches an actor had to drop from its
  bounded outbox, rather than wait forever for them.
- Weights (safetensors bytes) go to every live actor when published, and to an actor when it says hello,
  so a restarted actor starts from the latest policy.
- Heartbeats both ways; an actor silent for ``peer_timeout_s`` is reported gone (it may come back).
- Flow control: acks and heartbeats carry the actor's ``credit``: how many of its transitions the learner
  has consumed (``grant()``, called by the learner loop), and this learner's id, so that an actor can
  tell a restarted learner (whose credits start again at 0); a simulated actor waits rather than run
  ahead.

Single-threaded: call ``poll()`` from the learner loop. Optional CURVE encryption and client
authentication (``robot_rl.transport.keys``).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import zmq

from robot_rl.transport.keys import CurveKeys
from robot_rl.transport.wire import WireError, decode, encode

log = logging.getLogger(__name__)


@dataclass
class ActorState:
    identity: bytes
    actor: str
    session: str
    last_seq: int | None = None  # highest contiguous batch number stored; None until the actor says
    # which batch it holds first (hello or heartbeat)
    last_seen: float = field(default_factory=time.monotonic)
    alive: bool = True
    transitions: int = 0


class LearnerServer:
    """:param endpoint: where to bind, e.g. ``tcp://127.0.0.1:5555`` (``tcp://*:5555`` across machines).
    :param keys: CURVE keys (server secret + the actors' public keys), or None for plain TCP.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        keys: CurveKeys | None = None,
        heartbeat_s: float = 0.5,
        peer_timeout_s: float = 3.0,
    ) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a restarted actor may reuse its identity
        self.auth = keys.serve(self.context, self.socket) if keys else None
        self.socket.bind(endpoint)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.heartbeat_s, self.peer_timeout_s = heartbeat_s, peer_timeout_s
        self.actors: dict[str, ActorState] = {}  # session -> state
        self.instance = uuid.uuid4().hex  # tells actors a restarted learner (its credits start at 0)
        self.weights: bytes | None = None
        self.weights_version = 0
        self.dropped_messages = 0
        self.credits: dict[str, int] = {}  # session -> transitions consumed by the learner
        self._last_heartbeat = 0.0

    # ------------------------------------------------------------------------------------------ API
    def poll(self, timeout_s: float = 0.0) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """Handle everything that arrived (waiting up to ``timeout_s`` for the first message).

        :returns: ``[(actor name, session, transitions), ...]`` newly accepted, in arrival order.
        """
        accepted: list[tuple[str, str, list[dict[str, Any]]]] = []
        wait_ms = int(timeout_s * 1000)
        while self.socket.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            identity, frame = self._receive()
            if identity is None:
                continue
            try:
                message = decode(frame)
            except WireError as err:
                self.dropped_messages += 1
                log.warning("dropped a message from %r: %s", identity, err)
                continue
            batch = self._handle(identity, message)
            if batch is not None:
                accepted.append(batch)
        self._heartbeats()
        return accepted

    def publish_weights(self, data: bytes, version: int | None = None) -> int:
        """Send new policy weights (safetensors bytes) to every live actor; returns their version."""
        self.weights = data
        self.weights_version = self.weights_version + 1 if version is None else version
        for state in self.actors.values():
            if state.alive:
                self._send(state.identity, {"type": "weights", "version": self.weights_version, "data": data})
        return self.weights_version

    def grant(self, session: str, transitions: int) -> None:
        """Record that the learner consumed ``transitions`` more of ``session``'s transitions."""
        self.credits[session] = self.credits.get(session, 0) + transitions

    def live_actors(self) -> list[str]:
        return sorted({s.actor for s in self.actors.values() if s.alive})

    def close(self) -> None:
        if self.auth is not None:
            self.auth.stop()
        self.socket.close(0)
        self.context.term()

    # ------------------------------------------------------------------------------------------ internals
    def _receive(self) -> tuple[bytes | None, bytes]:
        frames = self.socket.recv_multipart()
        if len(frames) != 2:
            self.dropped_messages += 1
            log.warning("dropped a message with %d frames (expected identity + payload)", len(frames))
            return None, b""
        return frames[0], frames[1]

    def _send(self, identity: bytes, message: dict[str, Any]) -> None:
        try:
            self.socket.send_multipart([identity, encode(message)], zmq.NOBLOCK)
        except zmq.Again:
            log.debug("send to %r would block; dropped (the peer resynchronises)", identity)

    def _handle(
        self, identity: bytes, message: dict[str, Any]
    ) -> tuple[str, str, list[dict[str, Any]]] | None:
        kind = message["type"]
        if kind in ("ack", "weights", "learner_heartbeat"):
            self.dropped_messages += 1
            log.warning("dropped a %s message from actor %r: only the learner sends those", kind, identity)
            return None
        state = self._state(identity, message)
        if kind in ("hello", "heartbeat"):
            self._skip_to(state, int(message["oldest"]))
        if kind == "hello":
            log.info("actor %s (session %s) connected", state.actor, state.session[:8])
            if self.weights is not None and message["weights_version"] != self.weights_version:
                self._send(
                    identity, {"type": "weights", "version": self.weights_version, "data": self.weights}
                )
            return None
        if kind == "heartbeat":
            self._send(identity, self._heartbeat_message(state.session))
            return None
        seq = int(message["seq"])
        if state.last_seq is None:  # not yet told where the session starts: the actor's resend brings it
            return None
        if seq == state.last_seq + 1:
            state.last_seq = seq
            state.transitions += len(message["items"])
            self._send(identity, self._ack(state.session, seq))
            return state.actor, state.session, message["items"]
        # A duplicate (already stored) or a gap (an earlier batch is missing): re-acknowledge what we have.
        self._send(identity, self._ack(state.session, state.last_seq))
        return None

    def _skip_to(self, state: ActorState, oldest: int) -> None:
        """Start the session at the actor's ``oldest`` batch, or jump a gap the actor can never fill."""
        if state.last_seq is None:
            state.last_seq = oldest - 1
        elif oldest > state.last_seq + 1:
            log.warning("actor %s dropped batches %d-%d from its full outbox: they are lost",
                        state.actor, state.last_seq + 1, oldest - 1)  # fmt: skip
            state.last_seq = oldest - 1

    def _ack(self, session: str, seq: int) -> dict[str, Any]:
        credit = self.credits.get(session, 0)
        return {"type": "ack", "session": session, "seq": seq, "credit": credit, "learner": self.instance}

    def _state(self, identity: bytes, message: dict[str, Any]) -> ActorState:
        session = str(message["session"])
        state = self.actors.get(session)
        if state is None:
            state = self.actors[session] = ActorState(identity, str(message["actor"]), session)
        if not state.alive:
            log.info("actor %s is back", state.actor)
        state.identity, state.last_seen, state.alive = identity, time.monotonic(), True
        return state

    def _heartbeat_message(self, session: str) -> dict[str, Any]:
        return {
            "type": "learner_heartbeat",
            "time": time.time(),
            "weights_version": self.weights_version,
            "credit": self.credits.get(session, 0),
            "learner": self.instance,
        }

    def _heartbeats(self) -> None:
        now = time.monotonic()
        for state in self.actors.values():
            if state.alive and now - state.last_seen > self.peer_timeout_s:
                state.alive = False
                log.warning("actor %s silent for %.1f s: marked gone", state.actor, now - state.last_seen)
        if now - self._last_heartbeat >= self.heartbeat_s:
            self._last_heartbeat = now
            for state in self.actors.values():
                if state.alive:
                    self._send(state.identity, self._heartbeat_message(state.session))

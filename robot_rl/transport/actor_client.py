"""Actor side of the transport: streams transitions to the learner, receives policy weights.

Transitions are grouped into small numbered batches (``batch_size`` transitions or ``flush_s`` seconds,
whichever first) and kept in an outbox until the learner acknowledges them. While the learner is away
the actor keeps acting with its last weights; the outbox holds at most ``max_unsent`` transitions
(the oldest are dropped beyond that, with a warning) and is resent in order when the learner returns.
ZeroMQ reconnects by itself; ``IMMEDIATE`` keeps it from queueing to a dead peer, so the outbox is the
one place unsent data lives.

Single-threaded: call ``poll()`` once per control step (``add()`` does it too).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from typing import Any

import zmq

from robot_rl.transport.keys import CurveKeys
from robot_rl.transport.wire import WireError, decode, encode

log = logging.getLogger(__name__)


class ActorClient:
    """:param endpoint: the learner's address, e.g. ``tcp://127.0.0.1:5555``.
    :param actor: a name for logs ("actor0"); every process gets a fresh session id besides.
    :param keys: CURVE keys (this actor's pair + the learner's public key), or None.
    """

    def __init__(
        self,
        endpoint: str,
        actor: str = "actor",
        *,
        keys: CurveKeys | None = None,
        batch_size: int = 16,
        flush_s: float = 0.2,
        max_unsent: int = 50_000,
        heartbeat_s: float = 0.5,
        peer_timeout_s: float = 3.0,
        resend_s: float = 1.0,
    ) -> None:
        self.actor, self.session = actor, uuid.uuid4().hex
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.IMMEDIATE, 1)
        self.socket.setsockopt(zmq.ROUTING_ID, f"{actor}-{self.session}".encode())
        self.socket.setsockopt(zmq.RECONNECT_IVL, 100)
        self.socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        if keys is not None:
            keys.connect(self.socket)
        self.socket.connect(endpoint)
        self.batch_size, self.flush_s, self.max_unsent = batch_size, flush_s, max_unsent
        self.heartbeat_s, self.peer_timeout_s, self.resend_s = heartbeat_s, peer_timeout_s, resend_s
        self.outbox: OrderedDict[int, tuple[bytes, int]] = OrderedDict()  # seq -> (frame, transitions)
        self.pending: list[dict[str, Any]] = []
        self.next_seq = 0
        self.acked_transitions = 0
        self.dropped_transitions = 0
        self.weights: bytes | None = None
        self.weights_version = 0
        self.learner_alive = False
        self.added = 0  # transitions handed to add()
        self.credit = 0  # of them, consumed by the current learner (flow control in simulation)
        self._credit_base = 0  # transitions before the current learner's first (acked by, or lost to, others)
        self._learner: str | None = None  # the current learner's id
        self._new_weights = False
        self._last_heard = -float("inf")
        self._last_heartbeat = -float("inf")
        self._last_flush = time.monotonic()
        self._last_resend = -float("inf")
        self._hello()

    # ------------------------------------------------------------------------------------------ API
    def add(self, transition: dict[str, Any]) -> None:
        """Queue one transition (obs, action, reward, next_obs, terminated, truncated, ...)."""
        self.pending.append(transition)
        self.added += 1
        if len(self.pending) >= self.batch_size:
            self.flush()
        self._service()

    def flush(self) -> None:
        """Turn pending transitions into a numbered batch and send it."""
        self._last_flush = time.monotonic()
        if not self.pending:
            return
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        message = {"type": "transitions", "actor": self.actor, "session": self.session, "seq": seq}
        frame = encode({**message, "items": self.pending})
        self.outbox[seq] = (frame, len(self.pending))
        self.pending = []
        self._trim_outbox()
        if self.learner_alive:
            self._send_frame(frame)

    def poll(self, timeout_s: float = 0.0) -> bytes | None:
        """Handle learner messages and timers; returns new weights (safetensors bytes) if any arrived
        since the last ``poll`` (also those that arrived while ``add`` handled messages)."""
        self._service(timeout_s)
        if self._new_weights:
            self._new_weights = False
            return self.weights
        return None

    @property
    def backlog(self) -> int:
        """Transitions added that the learner has not consumed yet (a simulated actor waits on this)."""
        return self.added - self._credit_base - self.credit

    @property
    def unsent_transitions(self) -> int:
        return sum(n for _, n in self.outbox.values()) + len(self.pending)

    def close(self) -> None:
        self.socket.close(0)
        self.context.term()

    # ------------------------------------------------------------------------------------------ internals
    def _service(self, timeout_s: float = 0.0) -> None:
        """Handle learner messages and timers. New weights stay flagged until ``poll`` hands them out."""
        wait_ms = int(timeout_s * 1000)
        while self.socket.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            try:
                self._handle(decode(self.socket.recv()))
            except WireError as err:
                log.warning("dropped a message from the learner: %s", err)
        now = time.monotonic()
        if self.learner_alive and now - self._last_heard > self.peer_timeout_s:
            self.learner_alive = False
            log.warning("learner silent for %.1f s: acting on with weights v%d", now - self._last_heard,
                        self.weights_version)  # fmt: skip
        if now - self._last_heartbeat >= self.heartbeat_s:
            self._last_heartbeat = now
            heartbeat = {"type": "heartbeat", "actor": self.actor, "session": self.session}
            self._send({**heartbeat, "time": time.time(), "oldest": self._oldest()})
        if self.pending and now - self._last_flush >= self.flush_s:
            self.flush()
        if self.learner_alive and self.outbox and now - self._last_resend >= self.resend_s:
            self._resend()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind not in ("ack", "weights", "learner_heartbeat"):
            log.warning("dropped a %s message: only actors send those", kind)
            return
        was_alive, self.learner_alive, self._last_heard = self.learner_alive, True, time.monotonic()
        if kind in ("ack", "learner_heartbeat"):
            if message["learner"] != self._learner:  # a new learner starts at the oldest batch still held
                self._learner, self.credit = message["learner"], 0
                self._credit_base = self.added - self.unsent_transitions
            self.credit = max(self.credit, int(message["credit"]))
        if not was_alive:
            log.info("learner reachable; %d unsent transitions to deliver", self.unsent_transitions)
            self._hello()
            self._resend()
        elif kind == "learner_heartbeat" and int(message["weights_version"]) not in (0, self.weights_version):
            self._hello()  # a weights message was lost (a full send queue): the hello asks for them again
        if kind == "ack" and message["session"] == self.session:
            for seq in [s for s in self.outbox if s <= int(message["seq"])]:
                self.acked_transitions += self.outbox.pop(seq)[1]
        elif kind == "weights" and int(message["version"]) != self.weights_version:
            self.weights, self.weights_version = bytes(message["data"]), int(message["version"])
            self._new_weights = True

    def _hello(self) -> None:
        self._send({"type": "hello", "actor": self.actor, "session": self.session,
                    "weights_version": self.weights_version, "oldest": self._oldest()})  # fmt: skip

    def _oldest(self) -> int:
        """The lowest batch number still held (the next one when none is): where the learner starts."""
        return next(iter(self.outbox), self.next_seq)

    def _resend(self) -> None:
        self._last_resend = time.monotonic()
        for frame, _ in self.outbox.values():
            if not self._send_frame(frame):
                break

    def _trim_outbox(self) -> None:
        while self.outbox and self.unsent_transitions > self.max_unsent:
            _, (_, n) = self.outbox.popitem(last=False)
            self.dropped_transitions += n
            log.warning("outbox over max_unsent=%d: dropped the oldest %d transitions", self.max_unsent, n)

    def _send(self, message: dict[str, Any]) -> bool:
        return self._send_frame(encode(message))

    def _send_frame(self, frame: bytes) -> bool:
        try:
            self.socket.send(frame, zmq.NOBLOCK)
            return True
        except zmq.Again:  # no connection to the learner right now; the outbox keeps the data
            return False

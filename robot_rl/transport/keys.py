"""CURVE keys for the transport (``robot-rl keys``): encryption plus actor authentication.

A key folder holds ``learner.key``/``learner.key_secret`` and ``actor.key``/``actor.key_secret``
(ZeroMQ certificate files). The learner loads its secret key and accepts only clients whose public key
is in the folder; an actor loads its own pair and the learner's public key. A client without an allowed
key completes no handshake and receives nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class MissingKeyError(FileNotFoundError):
    """A key file is missing; the message says how to make keys."""


def make_keys(folder: str | Path, names: tuple[str, ...] = ("learner", "actor")) -> list[Path]:
    """Create CURVE key pairs in ``folder`` (one per name); returns the public key files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(zmq.auth.create_certificates(str(folder), name)[0]) for name in names]


def _load(path: Path) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise MissingKeyError(f"CURVE key {path} not found; make keys with `robot-rl keys out={path.parent}`")
    return zmq.auth.load_certificate(str(path))


@dataclass
class CurveKeys:
    """Keys of one side. Build with ``CurveKeys.learner(folder)`` or ``CurveKeys.actor(folder)``."""

    public: bytes
    secret: bytes
    server_public: bytes | None = None  # actors: the learner's public key
    allowed_dir: Path | None = None  # learner: folder of accepted client public keys

    @classmethod
    def learner(cls, folder: str | Path) -> CurveKeys:
        folder = Path(folder)
        public, secret = _load(folder / "learner.key_secret")
        return cls(public, secret, allowed_dir=folder)

    @classmethod
    def actor(cls, folder: str | Path, name: str = "actor") -> CurveKeys:
        folder = Path(folder)
        public, secret = _load(folder / f"{name}.key_secret")
        server_public, _ = _load(folder / "learner.key")
        return cls(public, secret, server_public=server_public)

    def serve(self, context: zmq.Context, socket: zmq.Socket) -> ThreadAuthenticator:
        """Make ``socket`` a CURVE server that accepts only the allowed clients (before bind)."""
        auth = ThreadAuthenticator(context)
        auth.start()
        auth.configure_curve(domain="*", location=str(self.allowed_dir))
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True
        return auth

    def connect(self, socket: zmq.Socket) -> None:
        """Make ``socket`` a CURVE client of the learner (before connect)."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_serverkey = self.server_public

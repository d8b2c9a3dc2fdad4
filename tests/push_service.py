"""A push service and a browser for tests, with no mock of the protocol: a real HTTP server on loopback that
keeps what it is sent (RFC 8030), and a browser's subscription keys made as a browser makes them, which decrypt
what arrives (RFC 8291) and check the VAPID header it came with (RFC 8292)."""

import base64
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece  # type: ignore[import-untyped]
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Push:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """Answers every POST with ``status`` (after ``hang`` seconds of silence, or until ``release`` is set)."""

    base: str
    status: int = 201
    hang: float = 0.0
    received: list[Push] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def endpoint(self, name: str = "") -> str:
        return f"{self.base}/push/{name or b64url(os.urandom(12))}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Push]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@contextmanager
def push_service() -> Iterator[PushService]:
    service = PushService(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with service.arrived:
                service.received.append(Push(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                service.arrived.notify_all()
            if service.hang:
                service.release.wait(service.hang)
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Browser:
    """A browser's push subscription: its ECDH key pair and auth secret, made as PushManager.subscribe() does."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """What PushSubscription.toJSON() gives."""
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": b64url(point),
                                                                            "auth": b64url(self.auth)}}

    def decrypt(self, push: Push) -> dict[str, Any]:
        plain = http_ece.decrypt(push.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        payload: dict[str, Any] = json.loads(plain)
        return payload


def vapid_claims(push: Push, public_key: str, audience: str) -> dict[str, Any]:
    """The claims of the push's VAPID token, verified (ES256) as a push service verifies them (RFC 8292):
    ``Authorization: vapid t=<JWT>, k=<key>``, ``k`` the service's ``public_key``, the token signed by it, for
    ``audience`` (the endpoint's origin), not expired and expiring within 24 hours, with a ``sub``."""
    found = re.fullmatch(r"vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)", push.headers["authorization"])
    assert found, push.headers["authorization"]
    token, k = found.groups()
    assert k == public_key
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["ES256"], audience=audience,
                                        options={"require": ["aud", "exp", "sub"]})
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims

"""Signing keys that every host of one service shares, kept in the database (``signing_keys``).

The private half of each key is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from
``AUXDUTY_SECRET_KEY``; the purpose and the key's name are the associated data, so a sealed key cannot be moved
to another row. The database never holds the secret: someone who owns it can read the public keys, not sign.
Badge keys (``verification.tokens.KeyRing`` over ``DatabaseKeyStore``), checkpoint keys (``DatabaseLogKeys``) and
the VAPID key that signs Web Push messages (``VapidKeys``) live here; badge and checkpoint keys a host kept in its
data dir before are carried over on first use, so printed badges and published checkpoints stay verifiable.

The badge and checkpoint keys draw on a small pool of their own, never on the requests' pool. A host notices a
rotation made elsewhere by a cheap query (the newest serial and the retirements) at most once a second, on the
paths that sign or publish keys, and at once when a token names a key it does not know.
"""

import hashlib
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import READ_ONLY
from api.domain.audit.checkpoints import LogKeyError, LogKeys
from api.domain.models import SigningKey
from verification.note import Verifier, parse_verifier_key, verifier_key
from verification.tokens import FileKeyStore, new_key

BADGE = "badge"
LOG = "log"
VAPID = "vapid"
_FIRST_KEY_LOCK = 4242003
"""PostgreSQL advisory lock under which a host that finds no key makes the first: hosts started together on an
empty database then sign with one key, not one each."""
_FIRST_VAPID_KEY_LOCK = 4242004
"""The same for the VAPID key, taken on a request's own transaction (``VapidKeys``); a lock of its own, so that
it never waits on the badge keys' pool nor they on it."""


class SealError(Exception):
    """A sealed key does not open with this secret: the hosts do not share ``AUXDUTY_SECRET_KEY``."""


class Sealer:
    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                 info=b"auxduty/signing-key-seal/v1").derive(secret.encode()))

    def seal(self, purpose: str, kid: str, key: Ed25519PrivateKey) -> bytes:
        return self.seal_raw(purpose, kid, key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def open(self, purpose: str, kid: str, sealed: bytes) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.open_raw(purpose, kid, sealed))

    def seal_raw(self, purpose: str, kid: str, raw: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, raw, f"{purpose}:{kid}".encode())

    def open_raw(self, purpose: str, kid: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], f"{purpose}:{kid}".encode())
        except InvalidTag:
            raise SealError(
                f"the {purpose} key {kid} in the database does not open with this AUXDUTY_SECRET_KEY: every host "
                "of one service must be given the same secret") from None


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class _Rows:
    """The rows of one purpose, and a throttled stamp of their state."""

    def __init__(self, engine: Engine, purpose: str, sealer: Sealer, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.purpose, self.sealer = engine, purpose, sealer
        self.interval, self.clock = interval, clock
        self._stamp: object = None
        self._stamped_at = float("-inf")
        self._lock = threading.Lock()

    def all(self) -> list[tuple[str, Ed25519PrivateKey, bool]]:
        """(kid, key, retired), oldest first."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(select(SigningKey.kid, SigningKey.sealed, SigningKey.retired_at)
                                .where(SigningKey.purpose == self.purpose).order_by(SigningKey.serial)).all()
        return [(kid, self.sealer.open(self.purpose, kid, bytes(sealed)), retired is not None)
                for kid, sealed, retired in rows]

    def add(self, kid: str, key: Ed25519PrivateKey) -> bool:
        """False when a key of that name is there already (another host carried the same one over)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(SigningKey).values(
                    purpose=self.purpose, kid=kid, public_key=_public(key),
                    sealed=self.sealer.seal(self.purpose, kid, key), created_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        finally:
            self._stamped_at = float("-inf")
        return True

    def ensure_live(self, make: Callable[[], tuple[str, Ed25519PrivateKey]]) -> None:
        """Add a key made by ``make`` unless a live one is there; hosts doing this at once add one between them."""
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FIRST_KEY_LOCK})
                if conn.execute(select(SigningKey.serial).where(
                        SigningKey.purpose == self.purpose, SigningKey.retired_at.is_(None)).limit(1)).first() is None:
                    kid, key = make()
                    conn.execute(insert(SigningKey).values(
                        purpose=self.purpose, kid=kid, public_key=_public(key),
                        sealed=self.sealer.seal(self.purpose, kid, key), created_at=datetime.now(UTC)))
        finally:
            self._stamped_at = float("-inf")

    def retire(self, kid: str) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(update(SigningKey).where(
                SigningKey.purpose == self.purpose, SigningKey.kid == kid, SigningKey.retired_at.is_(None))
                .values(retired_at=datetime.now(UTC))).rowcount
        self._stamped_at = float("-inf")
        return int(done)

    def stamp(self, *, fresh: bool = False) -> object:
        with self._lock:
            now = self.clock()
            if fresh or now - self._stamped_at >= self.interval:
                with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                    self._stamp = tuple(conn.execute(
                        select(func.max(SigningKey.serial), func.count(SigningKey.retired_at))
                        .where(SigningKey.purpose == self.purpose)).one())
                self._stamped_at = now
            return self._stamp


class DatabaseKeyStore:
    """``verification.tokens.KeyStore`` over ``signing_keys``: badge keys for every host."""

    def __init__(self, engine: Engine, sealer: Sealer, *, carry_over: FileKeyStore | None = None,
                 interval: float = 1.0) -> None:
        self.rows = _Rows(engine, BADGE, sealer, interval=interval)
        self.carry_over = carry_over

    def load(self) -> tuple[dict[str, Ed25519PrivateKey], str]:
        rows = self.rows.all()
        if not rows and self.carry_over is not None:
            old, active = self.carry_over.load()
            for kid in sorted(old, key=lambda k: k == active):  # the active one last: it goes on signing
                self.rows.add(kid, old[kid])
            rows = self.rows.all()
        if all(retired for _, _, retired in rows):
            self.rows.ensure_live(new_key)
            rows = self.rows.all()
        live = [(kid, key) for kid, key, retired in rows if not retired]
        return dict(live), live[-1][0] if live else ""

    def add(self, kid: str, key: Ed25519PrivateKey) -> None:
        self.rows.add(kid, key)

    def remove(self, kid: str) -> None:
        self.rows.retire(kid)

    def stamp(self) -> object:
        return self.rows.stamp()


class DatabaseLogKeys(LogKeys):
    """The checkpoint keys of ``LogKeys`` kept in ``signing_keys``, named by their note key hash."""

    def __init__(self, engine: Engine, sealer: Sealer, name: str, *, carry_over: LogKeys | None = None) -> None:
        super().__init__(carry_over.directory if carry_over else Path(os.devnull), name)
        self.rows = _Rows(engine, LOG, sealer)
        self.carry_over = carry_over

    def _hash(self, key: Ed25519PrivateKey) -> str:
        return verifier_key(self.name, key.public_key()).split("+", 2)[1]

    def _all(self) -> list[tuple[str, Ed25519PrivateKey, bool]]:
        rows = self.rows.all()
        if not rows and self.carry_over is not None and self.carry_over._files():
            for key in reversed(self.carry_over.private_keys()):  # oldest first: the newest signs first
                self.rows.add(self._hash(key), key)
            rows = self.rows.all()
        return rows

    def private_keys(self) -> list[Ed25519PrivateKey]:
        live = [key for _, key, retired in self._all() if not retired]
        if not live:
            self.rows.ensure_live(self._made)
            live = [key for _, key, retired in self._all() if not retired]
        return list(reversed(live))

    def _made(self) -> tuple[str, Ed25519PrivateKey]:
        key = Ed25519PrivateKey.generate()
        return self._hash(key), key

    def rotate(self) -> str:
        key = Ed25519PrivateKey.generate()
        self.rows.add(self._hash(key), key)
        return verifier_key(self.name, key.public_key())

    def retire(self, key_hash: str) -> None:
        live = [kid for kid, _, retired in self._all() if not retired]
        if key_hash not in live or len(live) == 1:
            raise LogKeyError(f"no key {key_hash}, or it is the last one")
        self.rows.retire(key_hash)

    def verifiers(self) -> list[Verifier]:
        return [parse_verifier_key(verifier_key(self.name, key.public_key())) for _, key, _ in self._all()]


class VapidKeys:
    """The VAPID key pair (RFC 8292: ECDSA P-256) that signs every Web Push message of the service, one for every
    host: the oldest live ``vapid`` row of ``signing_keys``, its 32-byte private scalar sealed like the badge keys,
    ``public_key`` the 65-byte uncompressed point that browsers are given as ``applicationServerKey`` (a
    subscription made under one key is refused by the push service for another, so it is never rotated).

    Unlike the badge keys it is read and, the first time, made on the caller's own session (a request's, or the
    push sender's), on SQLite as on PostgreSQL: no second connection is taken while one is held. Made under an
    advisory lock on PostgreSQL, and under SQLite's write lock; hosts racing for the first key therefore make
    one. Once read, a host keeps it.
    """

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        self._key: ec.EllipticCurvePrivateKey | None = None

    def private_key(self, session: Session) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            self._key = self._read(session) or self._make(session)
        return self._key

    def public_key(self, session: Session) -> bytes:
        """The uncompressed P-256 point (65 bytes, 0x04 ‖ x ‖ y)."""
        return self.private_key(session).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def _read(self, session: Session) -> ec.EllipticCurvePrivateKey | None:
        row = session.execute(
            select(SigningKey.kid, SigningKey.sealed)
            .where(SigningKey.purpose == VAPID, SigningKey.retired_at.is_(None))
            .order_by(SigningKey.serial).limit(1)).first()
        if row is None:
            return None
        scalar = self.sealer.open_raw(VAPID, row[0], bytes(row[1]))
        return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())

    def _make(self, session: Session) -> ec.EllipticCurvePrivateKey:
        # The read is over: a write transaction of its own follows (BEGIN IMMEDIATE on SQLite, not a read turned
        # writer), committed here so that every host sees the one key at once.
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FIRST_VAPID_KEY_LOCK})
        key = self._read(session)
        if key is None:
            key = ec.generate_private_key(ec.SECP256R1())
            point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            kid = hashlib.sha256(point).hexdigest()[:16]
            scalar = key.private_numbers().private_value.to_bytes(32, "big")
            session.add(SigningKey(purpose=VAPID, kid=kid, public_key=point,
                                   sealed=self.sealer.seal_raw(VAPID, kid, scalar), created_at=datetime.now(UTC)))
        session.commit()
        return key

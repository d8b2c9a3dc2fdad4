"""Badge tokens: compact JWS signed with Ed25519 (EdDSA), named by ``kid``, rotated, published as a JWKS.

A badge may also carry the compact form (``verification.compact``): the same key signs it, and
``verify_badge`` takes either (a JWS has two dots, a compact code none).

A token says only which credential and which issue of it; nothing personal. Anyone with the JWKS can
check the signature offline with PyJWT; whether the badge is still valid needs the online status.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verification import compact

BADGE_ALGORITHM = "EdDSA"
BADGE_TYP = "badge"
BADGE_AUDIENCE = "auxduty:badge"


class BadTokenError(Exception):
    """The token is not a badge this service signed (bad signature, unknown key, wrong shape)."""


@dataclass(frozen=True)
class BadgeClaims:
    credential_id: uuid.UUID
    version: int
    kid: str


def new_key() -> tuple[str, Ed25519PrivateKey]:
    """A fresh badge key and its kid: the month it was made and six random hex digits."""
    return datetime.now(UTC).strftime("%y%m") + uuid.uuid4().hex[:6], Ed25519PrivateKey.generate()


class KeyRingError(Exception):
    """The configured keys cannot be used (bad JSON or PEM, no active key, rotation of fixed keys)."""


class KeyStore(Protocol):
    """Where a ring's keys are kept: files of one host (``FileKeyStore``), or a store every host shares."""

    def load(self) -> tuple[dict[str, Ed25519PrivateKey], str]:
        """Every published key by kid, and the kid that signs ("" when there is none yet)."""

    def add(self, kid: str, key: Ed25519PrivateKey) -> None:
        """Keep a new key; it signs from now on."""

    def remove(self, kid: str) -> None:
        """Stop publishing a key."""

    def stamp(self) -> object:
        """Changes whenever another process adds or removes a key (cheap; may be a little stale)."""


class FileKeyStore:
    """PEM files in one directory, ``active`` naming the one that signs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self) -> tuple[dict[str, Ed25519PrivateKey], str]:
        self.directory.mkdir(parents=True, exist_ok=True)
        keys: dict[str, Ed25519PrivateKey] = {}
        for pem in sorted(self.directory.glob("*.pem")):
            key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
            if isinstance(key, Ed25519PrivateKey):
                keys[pem.stem] = key
        active = self.directory / "active"
        return keys, active.read_text().strip() if active.exists() else ""

    def add(self, kid: str, key: Ed25519PrivateKey) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = self.directory / f"{kid}.pem"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.replace(path)
        active_tmp = self.directory / "active.tmp"
        active_tmp.write_text(kid)
        active_tmp.replace(self.directory / "active")

    def remove(self, kid: str) -> None:
        (self.directory / f"{kid}.pem").unlink(missing_ok=True)

    def stamp(self) -> object:
        try:
            return (self.directory / "active").stat().st_ino
        except FileNotFoundError:
            return 0


class KeyRing:
    """Signing keys from a ``KeyStore`` (PEM files in ``<data_dir>/keys`` unless another is given, such as the
    database that every host of one service shares); the active one signs.

    Or fixed by the environment (``AUXDUTY_BADGE_KEYS``, for deployments whose keys live in a secret store):
    ``{"active": "<kid>", "keys": {"<kid>": "<PKCS#8 PEM of an Ed25519 key>", ...}}``. Such a ring is
    rotated by changing the secret, never by writing files. A ring on a shared store loads on first use (the
    store may need a migrated database) and follows rotations made on other hosts.
    """

    def __init__(self, directory: Path, *, fixed_keys: str | None = None, store: KeyStore | None = None) -> None:
        self.directory = directory
        self.store: KeyStore = store or FileKeyStore(directory)
        self.fixed = fixed_keys is not None
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._verified: dict[str, BadgeClaims] = {}
        self._active = ""
        self._seen: object = None
        self._loaded = False
        if fixed_keys is not None:
            self._load_fixed(fixed_keys)
            self._loaded = True
        elif store is None:
            self.reload()

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.reload()

    def _load_fixed(self, text: str) -> None:
        try:
            spec = json.loads(text)
            keys = {str(kid): serialization.load_pem_private_key(pem.encode(), password=None)
                    for kid, pem in spec["keys"].items()}
            active = str(spec["active"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(f"AUXDUTY_BADGE_KEYS is not usable: {exc}") from None
        if active not in keys or not all(isinstance(k, Ed25519PrivateKey) for k in keys.values()):
            raise KeyRingError("AUXDUTY_BADGE_KEYS needs Ed25519 keys and an 'active' kid among them")
        self._private = {kid: key for kid, key in keys.items() if isinstance(key, Ed25519PrivateKey)}
        self._active = active

    def reload(self) -> None:
        self._verified = {}
        self._seen = self.store.stamp()
        self._private, self._active = self.store.load()
        self._loaded = True
        if self._active not in self._private:
            self.rotate()

    def _follow_rotation(self) -> None:
        # `auxduty keys rotate` may run beside a live service, or on another host: follow it without a restart.
        self._ensure_loaded()
        if not self.fixed and self.store.stamp() != self._seen:
            self.reload()

    def rotate(self) -> str:
        """Make a new key and sign with it from now on; older keys stay published for old badges."""
        if self.fixed:
            raise KeyRingError(
                "the keys come from AUXDUTY_BADGE_KEYS: rotate by adding a key there and making it active"
            )
        kid, key = new_key()
        self.store.add(kid, key)
        self._private[kid] = key
        self._active = kid
        self._loaded = True
        self._seen = self.store.stamp()
        return kid

    def retire(self, kid: str) -> None:
        """Stop publishing a key (only once no badge signed by it is still in use)."""
        if self.fixed:
            raise KeyRingError("the keys come from AUXDUTY_BADGE_KEYS: retire a key by removing it there")
        self._ensure_loaded()
        if kid == self._active:
            raise ValueError("the active key cannot be retired; rotate first")
        self.store.remove(kid)
        self._private.pop(kid, None)
        self._verified.clear()

    @property
    def active_kid(self) -> str:
        """The kid that signs now."""
        self._ensure_loaded()
        return self._active

    @property
    def kids(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._private)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        self._ensure_loaded()
        key = self._private.get(kid)
        return key.public_key() if key else None

    def sign_badge(self, *, credential_id: uuid.UUID, version: int) -> tuple[str, str]:
        self._follow_rotation()
        # Kept short: the whole URL goes into the QR, and fewer modules decode more reliably.
        claims = {
            "aud": BADGE_AUDIENCE,
            "sub": str(credential_id),
            "ver": version,
            "iat": int(datetime.now(UTC).timestamp()),
        }
        token = jwt.encode(
            claims,
            self._private[self._active],
            algorithm=BADGE_ALGORITHM,
            headers={"kid": self._active, "typ": BADGE_TYP},
        )
        return token, self._active

    def sign_compact(self, *, credential_id: uuid.UUID, version: int) -> tuple[str, str]:
        """The compact code of a badge (``verification.compact``), signed by the active key, and its kid."""
        self._follow_rotation()
        code = compact.sign_compact(self._private[self._active], kid=self._active, credential_id=credential_id,
                                    version=version)
        return code, self._active

    def verify_badge(self, token: str) -> BadgeClaims:
        """The claims of a token this ring signed; raises BadTokenError otherwise. Good answers are
        remembered (a badge is scanned again and again; the signature cannot change its mind)."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        claims = self._verify(token)
        if len(self._verified) >= 50_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> BadgeClaims:
        if "." not in token:
            return self._verify_compact(token)
        try:
            header = jwt.get_unverified_header(token)
            kid = str(header.get("kid", ""))
            self._ensure_loaded()
            if kid not in self._private:
                self._follow_rotation()
            key = self.public_key(kid)
            if key is None or header.get("alg") != BADGE_ALGORITHM:
                raise BadTokenError("unknown key")
            claims = jwt.decode(
                token,
                key,
                algorithms=[BADGE_ALGORITHM],
                audience=BADGE_AUDIENCE,
                options={"require": ["sub", "aud", "iat"]},
            )
            if header.get("typ") != BADGE_TYP or not isinstance(claims.get("ver"), int):
                raise BadTokenError("not a badge token")
            return BadgeClaims(uuid.UUID(claims["sub"]), claims["ver"], kid)
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            raise BadTokenError(str(exc)) from None

    def _verify_compact(self, code: str) -> BadgeClaims:
        self._ensure_loaded()
        for attempt in range(2):
            try:
                claims = compact.verify_with_keys(code, {kid: key.public_key() for kid, key in self._private.items()})
            except compact.UnknownKey:
                if attempt == 0:  # perhaps rotated on another host since this ring loaded
                    self._follow_rotation()
                    continue
                raise BadTokenError("unknown key") from None
            except compact.BadCompactCode as exc:
                raise BadTokenError(str(exc)) from None
            return BadgeClaims(claims.credential_id, claims.version, claims.kid)
        raise BadTokenError("unknown key")

    def jwks(self) -> dict[str, Any]:
        self._follow_rotation()
        keys = []
        for kid in self.kids:
            public = self._private[kid].public_key()
            jwk: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
            jwk.update({"kid": kid, "alg": BADGE_ALGORITHM, "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}

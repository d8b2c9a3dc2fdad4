"""The compact badge QR: a badge as ``HTTPS://HOST/B/<base32>``, small enough for a version 7-8 QR code at
error correction M, checkable offline with nothing but the JWKS (docs/compact-qr.md has the byte layout).

Like the EU Digital COVID Certificate, the text keeps to the QR alphanumeric alphabet (0-9 A-Z space $%*+-./:),
which packs 5.5 bits a character against 8 in byte mode: the URL is upper-cased (schemes and hosts are
case-insensitive) and the payload is RFC 4648 base32 without padding. Base45 would be 9 characters shorter but
puts space, ``%`` and ``/`` into a URL path.

Payload (87 bytes): version 0x01 | key hash (4) | credential id (16) | issue number (2, big-endian) |
Ed25519 signature (64) over ``DOMAIN`` followed by the first 23 bytes. The key hash is the first 4 bytes of
SHA-256 of the JWK's ``kid``; a verifier tries every published key whose kid hashes to it.

This module needs only the standard library and ``cryptography``: ``python -m verification.compact
jwks.json TEXT`` checks a badge offline.
"""

import base64
import binascii
import hashlib
import json
import struct
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT_VERSION = 1
DOMAIN = b"auxduty-badge-compact-v1\x00"
"""Prefixed to what is signed, so no other message signed with a badge key can pass for a compact badge."""
PATH = "/B/"
_HEAD = struct.Struct(">B4s16sH")
SIGNATURE_BYTES = 64
PAYLOAD_BYTES = _HEAD.size + SIGNATURE_BYTES  # 87
CODE_CHARS = 140  # ceil(87 * 8 / 5), base32 without padding
MAX_ISSUE = 0xFFFF


class BadCompactCode(ValueError):
    """Not a compact badge signed by a published key: wrong shape, unknown key, or a bad signature."""


class UnknownKey(BadCompactCode):
    """No published key has the payload's key hash (a key retired, or never ours)."""


@dataclass(frozen=True)
class CompactClaims:
    credential_id: uuid.UUID
    version: int
    kid: str


def key_hash(kid: str) -> bytes:
    """The 4 bytes that name a key in the payload: the start of SHA-256 of its kid (UTF-8)."""
    return hashlib.sha256(kid.encode()).digest()[:4]


def sign_compact(key: Ed25519PrivateKey, *, kid: str, credential_id: uuid.UUID, version: int) -> str:
    """The base32 code of a badge: credential ``credential_id`` at issue ``version``, signed by ``key``."""
    if not 0 < version <= MAX_ISSUE:
        raise ValueError(f"issue number {version} does not fit the compact form")
    head = _HEAD.pack(FORMAT_VERSION, key_hash(kid), credential_id.bytes, version)
    signature = key.sign(DOMAIN + head)
    return base64.b32encode(head + signature).decode().rstrip("=")


def compact_url(public_base_url: str, code: str) -> str:
    """The QR text: the base URL's scheme and host upper-cased, then ``/B/`` and the code. A path in the
    base URL keeps its case (paths are case-sensitive), which may cost the alphanumeric mode."""
    parts = urlsplit(public_base_url.rstrip("/"))
    return f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}{PATH}{code}"


def code_of(text: str) -> str:
    """The code in a QR text (a ``.../B/<code>`` URL, any case) or a bare code, upper-cased."""
    text = text.strip()
    cut = text.upper().rfind(PATH)
    return (text[cut + len(PATH):] if cut >= 0 else text).upper()


def _unpack(code: str) -> tuple[bytes, bytes, uuid.UUID, int, bytes]:
    if len(code) != CODE_CHARS:
        raise BadCompactCode("not a compact badge: wrong length")
    try:
        payload = base64.b32decode(code + "=" * (-len(code) % 8))
    except (binascii.Error, ValueError):
        raise BadCompactCode("not a compact badge: not base32") from None
    if base64.b32encode(payload).decode().rstrip("=") != code:
        raise BadCompactCode("not a compact badge: stray bits in the last character")
    head, signature = payload[: _HEAD.size], payload[_HEAD.size:]
    fmt, hashed, cred, version = _HEAD.unpack(head)
    if fmt != FORMAT_VERSION or version == 0:
        raise BadCompactCode("not a compact badge of format 1")
    return head, hashed, uuid.UUID(bytes=cred), version, signature


def verify_with_keys(text: str, keys: Mapping[str, Ed25519PublicKey]) -> CompactClaims:
    """The claims of a compact badge signed by one of ``keys`` (by kid); raises BadCompactCode otherwise."""
    head, hashed, credential_id, version, signature = _unpack(code_of(text))
    candidates = [kid for kid in keys if key_hash(kid) == hashed]
    if not candidates:
        raise UnknownKey("unknown key")
    for kid in candidates:
        try:
            keys[kid].verify(signature, DOMAIN + head)
        except InvalidSignature:
            continue
        return CompactClaims(credential_id, version, kid)
    raise BadCompactCode("bad signature")


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS (``{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ..., "kid": ...}]}``)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            raw = base64.urlsafe_b64decode(str(jwk["x"]) + "=" * (-len(str(jwk["x"])) % 4))
            keys[str(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError, binascii.Error):
            continue
    return keys


def verify_compact(text: str, jwks: Mapping[str, Any]) -> CompactClaims:
    """Check a compact badge (its QR text or bare code) offline against the JWKS of ``/.well-known/jwks.json``.

    Says that the service signed this credential and issue; whether the badge is still valid (not suspended,
    revoked or superseded) only the online check can say."""
    return verify_with_keys(text, keys_from_jwks(jwks))


def main(argv: list[str] | None = None) -> int:
    """``python -m verification.compact JWKS_FILE TEXT``: prints the claims, or the reason and exit 1."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m verification.compact JWKS_FILE QR_TEXT", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        jwks = json.load(f)
    try:
        claims = verify_compact(args[1], jwks)
    except BadCompactCode as exc:
        print(f"invalid: {exc}")
        return 1
    print(json.dumps({"credential_id": str(claims.credential_id), "version": claims.version, "kid": claims.kid}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Signed notes (C2SP signed-note, golang.org/x/mod/sumdb/note) and transparency-log checkpoints (C2SP
tlog-checkpoint), with Ed25519.

The records of enforcement work may not be deleted or altered (第十条(三) of Nanjing's Measures for the
administration of law-enforcement auxiliary staff). The service signs the head of its transparency log,
a checkpoint: the log's origin, its size and its root hash. A signed checkpoint is a commitment: a later
one that is not an extension of it (see ``verification.tlog``) proves that records were removed or
rewritten, and anyone holding the two notes can show it to a third party.

A note is a text ending in a newline, a blank line, then one line per signature::

    — <key name> base64(4-byte key hash || signature)

Keys travel as verifier keys, ``<name>+<8 hex key hash>+base64(0x01 || 32-byte Ed25519 public key)``, with
key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4]. Signatures by unknown keys are ignored; a
signature whose name and key hash match a known key must verify.

Standard library and ``cryptography`` only.
"""

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100
SIGNATURE_PREFIX = "— "  # em dash U+2014, space
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HASH_SIZE = 32
_MAX_TREE_SIZE = 2**64 - 1


class NoteError(Exception):
    """A note (or key, or checkpoint) that cannot be accepted; ``reason`` says why, in one word."""

    reason = "malformed"


class MalformedNoteError(NoteError):
    """Not a note, key or checkpoint of the right form."""

    reason = "malformed"


class BadSignatureError(NoteError):
    """A signature by a known key (name and key hash match) that does not verify."""

    reason = "bad_signature"

    def __init__(self, name: str, key_hash: bytes) -> None:
        super().__init__(f"invalid signature for key {name}+{key_hash.hex()}")
        self.name = name
        self.key_hash = key_hash


class UnknownKeyError(NoteError):
    """A well-formed note with no signature by any known key."""

    reason = "unknown_key"

    def __init__(self, signatures: Sequence["Signature"]) -> None:
        keys = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in signatures) or "none"
        super().__init__(f"note has no signature by a known key (signed by: {keys})")
        self.signatures = tuple(signatures)


# --- keys ------------------------------------------------------------------------------------------------


def is_valid_name(name: str) -> bool:
    """A key name: non-empty, no Unicode spaces, no plus sign."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and _encodable(name)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_hash(name: str, public_key_bytes: bytes) -> bytes:
    """The 4-byte key hash (key ID): SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key_bytes).digest()[:4]


@dataclass(frozen=True, eq=False)
class Verifier:
    """A known Ed25519 key: its name, key hash and public key."""

    name: str
    key_hash: bytes
    public_key: Ed25519PublicKey

    def __repr__(self) -> str:
        return f"Verifier({self.key_text()!r})"

    @property
    def public_key_bytes(self) -> bytes:
        return _raw_public(self.public_key)

    def key_text(self) -> str:
        """The verifier key text of this key."""
        return verifier_key(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def _identity(self) -> tuple[str, bytes, bytes]:
        return self.name, self.key_hash, self.public_key_bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verifier) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """``<name>+<8 hex key hash>+<base64(0x01 || public key)>``."""
    if not is_valid_name(name):
        raise ValueError(f"invalid key name {name!r}")
    raw = _raw_public(public_key)
    encoded = base64.b64encode(bytes([ALG_ED25519]) + raw).decode("ascii")
    return f"{name}+{key_hash(name, raw).hex()}+{encoded}"


def _b64decode(text: str) -> bytes | None:
    """Strict standard base64 (RFC 4648 §4, padded); None when it is not."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None


def _parse_key_parts(name: str, hash_hex: str, key64: str) -> tuple[bytes, bytes]:
    """Check a key's name, hex hash and base64 key material (0x01 || 32 bytes); (hash, key bytes)."""
    raw = _b64decode(key64)
    if not is_valid_name(name) or not re.fullmatch(r"[0-9a-fA-F]{8}", hash_hex) or not raw:
        raise MalformedNoteError("malformed key")
    if raw[0] != ALG_ED25519:
        raise MalformedNoteError("unknown key algorithm")
    if len(raw) != 1 + 32:
        raise MalformedNoteError("malformed key")
    return bytes.fromhex(hash_hex), raw[1:]


def parse_verifier_key(text: str) -> Verifier:
    """Parse a verifier key text (surrounding whitespace ignored); ``MalformedNoteError`` if it is not one."""
    name, _, rest = text.strip().partition("+")
    hash_hex, _, key64 = rest.partition("+")
    claimed, raw = _parse_key_parts(name, hash_hex, key64)
    if claimed != key_hash(name, raw):
        raise MalformedNoteError("verifier key hash does not match the key")
    try:
        public = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise MalformedNoteError("malformed key") from None
    return Verifier(name, claimed, public)


def signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """``PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)``: a secret, the sumdb/note signer key encoding."""
    if not is_valid_name(name):
        raise ValueError(f"invalid key name {name!r}")
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    digest = key_hash(name, _raw_public(private_key.public_key()))
    return f"{_PRIVATE_PREFIX}{name}+{digest.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + seed).decode()}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """The name and private key of a signer key text; ``MalformedNoteError`` if it is not one."""
    text = text.strip()
    if not text.startswith(_PRIVATE_PREFIX):
        raise MalformedNoteError("malformed signer key")
    name, _, rest = text[len(_PRIVATE_PREFIX):].partition("+")
    hash_hex, _, key64 = rest.partition("+")
    claimed, seed = _parse_key_parts(name, hash_hex, key64)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    if claimed != key_hash(name, _raw_public(private.public_key())):
        raise MalformedNoteError("signer key hash does not match the key")
    return name, private


# --- notes -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_hash: bytes
    base64: str


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures by ``verified`` keys checked out; ``unverified`` are by keys not known."""

    text: str
    verified: tuple[Verifier, ...]
    unverified: tuple[Signature, ...] = ()


def _check_text(text: str) -> None:
    """Valid UTF-8, no control characters but newline."""
    if not _encodable(text) or any(c < " " and c != "\n" for c in text):
        raise MalformedNoteError("malformed note: control characters or invalid UTF-8")


def sign_note(text: str, signers: Sequence[tuple[str, Ed25519PrivateKey]]) -> str:
    """The signed note: ``text`` (ending in a newline), a blank line, one signature line per signer."""
    _check_text(text)
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    if not signers:
        raise ValueError("a note needs at least one signer")
    message = text.encode("utf-8")
    lines = []
    for name, private in signers:
        if not is_valid_name(name):
            raise ValueError(f"invalid key name {name!r}")
        digest = key_hash(name, _raw_public(private.public_key()))
        encoded = base64.b64encode(digest + private.sign(message)).decode("ascii")
        lines.append(f"{SIGNATURE_PREFIX}{name} {encoded}\n")
    return text + "\n" + "".join(lines)


def _index(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        seen = known.setdefault((v.name, v.key_hash), v)
        if seen != v:
            raise ValueError(f"two different known keys are both named {v.name}+{v.key_hash.hex()}")
    return known


def _parse_signature_line(line: str) -> tuple[Signature, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("malformed note: not a signature line")
    name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
    raw = _b64decode(encoded)
    if raw is None or not is_valid_name(name) or len(raw) < 5:
        raise MalformedNoteError("malformed note: bad signature line")
    return Signature(name, raw[:4], encoded), raw[4:]


def _split_note(note: str | bytes) -> tuple[str, list[str]]:
    """The text (with its final newline) and the signature lines."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("malformed note: invalid UTF-8") from None
    if not isinstance(note, str):
        raise MalformedNoteError("malformed note: not text")
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("malformed note: no signature block")
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise MalformedNoteError("malformed note: signature block must end with a newline")
    return text, block[:-1].split("\n")


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Parse ``note`` and check its signatures by the known ``verifiers``.

    ``MalformedNoteError`` (reason ``malformed``) for anything not of the form, more than 100 signatures
    included; ``BadSignatureError`` (``bad_signature``) when a known key's signature fails;
    ``UnknownKeyError`` (``unknown_key``) when no known key signed.
    """
    known = _index(verifiers)
    text, lines = _split_note(note)
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    message = text.encode("utf-8")
    verified: dict[tuple[str, bytes], Verifier] = {}
    unverified: dict[str, Signature] = {}
    for line in lines:
        signature, raw = _parse_signature_line(line)
        key = (signature.name, signature.key_hash)
        verifier = known.get(key)
        if verifier is None:
            unverified.setdefault(line, signature)
        elif key not in verified:  # a repeated signature by one key is dropped, as sumdb/note does
            if not verifier.verify(message, raw):
                raise BadSignatureError(*key)
            verified[key] = verifier
    if not verified:
        raise UnknownKeyError(tuple(unverified.values()))
    return OpenedNote(text, tuple(verified.values()), tuple(unverified.values()))


# --- checkpoints -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed head (C2SP tlog-checkpoint): origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _is_line(self.origin):
            raise ValueError(f"invalid origin {self.origin!r}")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValueError(f"invalid tree size {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH_SIZE:
            raise ValueError("a root hash is 32 bytes")
        if not all(_is_line(e) for e in self.extensions):
            raise ValueError("extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text: origin, decimal size, base64 root, extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(line + "\n" for line in lines)


def _is_line(value: object) -> bool:
    return isinstance(value, str) and bool(value) and _encodable(value) and not any(c < " " for c in value)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body, strictly; ``MalformedNoteError`` for anything else."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedNoteError("malformed checkpoint: must end with a newline")
    _check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise MalformedNoteError("malformed checkpoint: needs origin, size and root on non-empty lines")
    origin, size_text, root_text, *extensions = lines
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise MalformedNoteError("malformed checkpoint: size is not a canonical decimal")
    root = _b64decode(root_text)
    if root is None or len(root) != _HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
        raise MalformedNoteError("malformed checkpoint: root is not a base64 32-byte hash")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(note: str | bytes, verifiers: Sequence[Verifier]) -> Checkpoint:
    """Check the note's signature by a known key, then parse its text as a checkpoint."""
    return parse_checkpoint(open_note(note, verifiers).text)

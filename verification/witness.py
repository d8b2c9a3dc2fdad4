"""A witness outside the service: it keeps the last checkpoint it saw and checks that the log only grows.

The records of enforcement work may not be deleted or altered (第十条(三) of Nanjing's Measures for the
administration of law-enforcement auxiliary staff). The service could still rewrite its own log and
re-sign the result; what it cannot do is make a rewritten log consistent with a checkpoint someone else
kept. Run this on another machine, by another party, now and then (``auxduty log witness --url BASE
--state FILE``, from cron for instance):

1. The first run trusts the key given with ``--key`` (a verifier key text, or a file holding one), else the
   key the service publishes at ``/api/public/log/key`` (trust on first use), and keeps it in the state file.
2. Later runs check with the kept key. If the service publishes another key the run fails with
   ``key_changed``: a rotation is accepted only when the operator names the new key with ``--key``.
3. The checkpoint (``/api/public/log/checkpoint``) must be signed by the key (else ``bad_signature``, which
   also covers a checkpoint not signed by that key at all) and keep the same origin (``origin_changed``).
4. Against the kept checkpoint: a smaller size is ``log_truncated``; the same size with another root, or a
   larger size without a valid consistency proof (``/api/public/log/proof/consistency``), is
   ``log_rewritten``.

On success the state file is replaced atomically. On failure it is left as it was, and what the service
answered is saved beside it (``FILE.rejected-<utc>.txt``, and the proof or key when they matter) to show to
others. Exit codes: 0 the log is consistent with what was seen before, 1 the log misbehaved, 2 it could not
be checked (service unreachable, HTTP error, malformed answer, unreadable state): an unreachable service is
not evidence of tampering. A service that keeps answering malformed proofs keeps getting 2, never 0.

Standard library and ``cryptography`` only; it talks to the service over plain HTTP(S) and nothing else.
"""

import argparse
import base64
import http.client
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verification.note import (
    BadSignatureError,
    Checkpoint,
    MalformedNoteError,
    NoteError,
    UnknownKeyError,
    Verifier,
    open_checkpoint,
    parse_verifier_key,
)
from verification.tlog import EMPTY_ROOT, verify_consistency

KEY_PATH = "/api/public/log/key"
CHECKPOINT_PATH = "/api/public/log/checkpoint"
CONSISTENCY_PATH = "/api/public/log/proof/consistency"

EXIT_OK = 0
EXIT_MISBEHAVED = 1
EXIT_UNCHECKED = 2

STATE_VERSION = 1
MAX_ANSWER = 1 << 20
DEFAULT_TIMEOUT = 10.0

MISBEHAVIOUR = frozenset({"log_truncated", "log_rewritten", "bad_signature", "origin_changed", "key_changed"})


class FetchError(Exception):
    """The service could not be asked: network error, timeout, an HTTP status other than 200, too large."""


Fetch = Callable[[str], bytes]
"""GET a URL and return the body; ``FetchError`` when there is no proper answer."""


def urllib_fetch(timeout: float = DEFAULT_TIMEOUT) -> Fetch:
    """A ``Fetch`` with urllib (the environment's proxy settings apply), at most ``MAX_ANSWER`` bytes."""

    def fetch(url: str) -> bytes:
        request = urllib.request.Request(url, headers={
            "User-Agent": "auxduty-witness/1", "Accept": "text/plain, application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
                body: bytes = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise FetchError(f"{url}: HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise FetchError(f"{url}: {exc.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise FetchError(f"{url}: {exc or type(exc).__name__}") from None
        if status != 200:
            raise FetchError(f"{url}: HTTP {status}")
        if len(body) > MAX_ANSWER:
            raise FetchError(f"{url}: answer larger than {MAX_ANSWER} bytes")
        return body

    return fetch


@dataclass(frozen=True)
class WitnessResult:
    """What one run found: ``reason`` in one word, a human ``message`` and the process exit code."""

    reason: str
    message: str
    exit_code: int
    origin: str | None = None
    size: int | None = None
    root: bytes | None = None
    previous_size: int | None = None
    evidence: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def line(self) -> str:
        """The one line a run prints."""
        head = {EXIT_OK: "ok", EXIT_MISBEHAVED: "LOG MISBEHAVED", EXIT_UNCHECKED: "could not check"}
        text = f"{head.get(self.exit_code, 'error')} ({self.reason}): {self.message}"
        if self.evidence:
            text += f"; evidence kept in {', '.join(str(p) for p in self.evidence)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "message": self.message, "exit_code": self.exit_code,
                "origin": self.origin, "size": self.size,
                "root": base64.b64encode(self.root).decode() if self.root is not None else None,
                "previous_size": self.previous_size, "evidence": [str(p) for p in self.evidence]}


@dataclass(frozen=True)
class _State:
    """What the state file keeps: the trusted key and the last checkpoint accepted (as signed)."""

    key: Verifier
    checkpoint: Checkpoint
    note: str
    first_seen_at: str


class _Stop(Exception):
    """Ends a run with a result; ``evidence`` is what to save beside the state file (suffix, content)."""

    def __init__(self, reason: str, message: str, *, evidence: Sequence[tuple[str, str]] = (),
                 checkpoint: Checkpoint | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.evidence = tuple(evidence)
        self.checkpoint = checkpoint

    @property
    def exit_code(self) -> int:
        return EXIT_MISBEHAVED if self.reason in MISBEHAVIOUR else EXIT_UNCHECKED


# --- state -----------------------------------------------------------------------------------------------


def _load_state(path: Path) -> _State | None:
    """The kept state, None before the first run; ``_Stop('bad_state')`` when it cannot be trusted."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Stop("bad_state", f"cannot read the state file {path}: {exc}") from None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a witness state")
        key = parse_verifier_key(str(data["key"]))
        note = str(data["checkpoint"])
        checkpoint = open_checkpoint(note, [key])
        if (data["origin"], data["size"], data["root"]) != (
                checkpoint.origin, checkpoint.size, base64.b64encode(checkpoint.root).decode()):
            raise ValueError("the fields do not match the kept checkpoint")
        return _State(key, checkpoint, note, str(data.get("first_seen_at") or data.get("seen_at") or ""))
    except (ValueError, KeyError, TypeError, NoteError) as exc:
        raise _Stop("bad_state", f"the state file {path} is not a witness state that checks out ({exc})") from None


def _state_json(base_url: str, key: Verifier, checkpoint: Checkpoint, note: str, first_seen_at: str,
                seen_at: str) -> str:
    data = {"version": STATE_VERSION, "url": base_url, "origin": checkpoint.origin, "key": key.key_text(),
            "size": checkpoint.size, "root": base64.b64encode(checkpoint.root).decode(),
            "checkpoint": note, "first_seen_at": first_seen_at, "seen_at": seen_at}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: a temporary file beside it, flushed, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_evidence(state_path: Path, stamp: str, items: Sequence[tuple[str, str]]) -> tuple[Path, ...]:
    """Write each (suffix, content) as ``FILE.rejected-<stamp><suffix>``, never over an existing file."""
    saved = []
    state_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix, content in items:
        for attempt in range(100):
            extra = f"-{attempt}" if attempt else ""
            target = state_path.with_name(f"{state_path.name}.rejected-{stamp}{extra}{suffix}")
            try:
                with target.open("x", encoding="utf-8") as out:
                    out.write(content)
            except FileExistsError:
                continue
            saved.append(target)
            break
    return tuple(saved)


# --- asking the service ----------------------------------------------------------------------------------


def _base(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Stop("bad_url", f"not an http(s) base URL: {url!r}")
    return url.strip().rstrip("/")


def _get(fetch: Fetch, url: str) -> bytes:
    try:
        return fetch(url)
    except FetchError as exc:
        raise _Stop("unreachable", f"no answer from the service: {exc}") from None


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Stop("malformed_answer", f"the {what} is not UTF-8 text") from None


def _key_argument(value: str) -> Verifier:
    """``--key``: a verifier key text, or the path of a file holding one."""
    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else value
        return parse_verifier_key(text)
    except (OSError, UnicodeDecodeError, NoteError) as exc:
        raise _Stop("bad_key", f"--key is neither a verifier key nor a file holding one ({exc})") from None


def _published_key(fetch: Fetch, base: str) -> tuple[Verifier, str]:
    text = _text(_get(fetch, base + KEY_PATH), "published key")
    try:
        return parse_verifier_key(text), text
    except NoteError:
        raise _Stop("malformed_answer", "the published key is not a verifier key") from None


def _checkpoint(fetch: Fetch, base: str, key: Verifier) -> tuple[Checkpoint, str]:
    note = _text(_get(fetch, base + CHECKPOINT_PATH), "checkpoint")
    try:
        checkpoint = open_checkpoint(note, [key])
    except (BadSignatureError, UnknownKeyError) as exc:
        raise _Stop("bad_signature", f"the checkpoint is not signed by {key.name}+{key.key_hash.hex()}: {exc}",
                    evidence=[(".txt", note)]) from None
    except MalformedNoteError as exc:
        raise _Stop("malformed_answer", f"the checkpoint is not a signed checkpoint ({exc})") from None
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise _Stop("log_rewritten", "the checkpoint gives the empty tree a root other than the empty root",
                    evidence=[(".txt", note)], checkpoint=checkpoint)
    return checkpoint, note


def _parse_proof(body: bytes, first: int, second: int) -> list[bytes]:
    """The hashes of a consistency answer ``{first, second, hashes: [hex]}`` for exactly this question."""
    malformed = _Stop("malformed_answer", f"the consistency proof from {first} to {second} is malformed")
    try:
        data = json.loads(body)
    except ValueError:
        raise malformed from None
    if not isinstance(data, dict):
        raise malformed
    hashes = data.get("hashes")
    asked = type(data.get("first")) is int and type(data.get("second")) is int and (
        data["first"], data["second"]) == (first, second)
    if not asked or not isinstance(hashes, list) or len(hashes) > 130:
        raise malformed
    if not all(isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{64}", h) for h in hashes):
        raise malformed
    return [bytes.fromhex(h) for h in hashes]


def _compare(fetch: Fetch, base: str, old: Checkpoint, new: Checkpoint, note: str) -> str:
    """Check ``new`` against ``old``; the outcome ('unchanged' or 'grew') or ``_Stop``."""
    evidence = [(".txt", note)]
    if new.size < old.size:
        raise _Stop("log_truncated", f"the log shrank from {old.size} to {new.size} leaves",
                    evidence=evidence, checkpoint=new)
    if new.size == old.size:
        if new.root != old.root:
            raise _Stop("log_rewritten", f"the log has another root at the same size {new.size}",
                        evidence=evidence, checkpoint=new)
        return "unchanged"
    proof: list[bytes] = []
    answer = b""
    if old.size > 0:
        query = urllib.parse.urlencode({"first": old.size, "second": new.size})
        answer = _get(fetch, f"{base}{CONSISTENCY_PATH}?{query}")
        proof = _parse_proof(answer, old.size, new.size)
    if not verify_consistency(old.size, new.size, old.root, new.root, proof):
        if answer:
            evidence.append((".consistency.json", answer.decode("utf-8", "replace")))
        raise _Stop("log_rewritten", f"the log of {new.size} leaves does not extend the one of {old.size} leaves "
                    "seen before (the consistency proof fails)", evidence=evidence, checkpoint=new)
    return "grew"


# --- the run ---------------------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _key_in_force(fetch: Fetch, base: str, state: _State | None, given: Verifier | None) -> Verifier:
    """The key to check with: ``--key``, else the kept one (unless the service now publishes another), else
    the published one (first run)."""
    if given is not None:
        return given
    published, text = _published_key(fetch, base)
    if state is None:
        return published
    if published != state.key:
        raise _Stop("key_changed", f"the service now publishes the key {published.key_text()}, not the kept "
                    f"{state.key.key_text()}; run with --key to accept it", evidence=[(".key.txt", text)])
    return state.key


def _check(base_url: str, state_path: Path, key: str | None, fetch: Fetch,
           now: datetime) -> tuple[str, str, Checkpoint, int | None]:
    """One check; (reason, message, new checkpoint, previous size) or ``_Stop``. Writes the state on success."""
    base = _base(base_url)
    given = _key_argument(key) if key is not None else None
    state = _load_state(state_path)
    verifier = _key_in_force(fetch, base, state, given)
    checkpoint, note = _checkpoint(fetch, base, verifier)
    seen_at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    if state is None:
        reason, previous = "first_run", None
        source = "given with --key" if given is not None else "published by the service, trusted on first use"
        message = (f"first run: keeping the key {verifier.key_text()} ({source}) and the checkpoint of "
                   f"{checkpoint.origin} at {checkpoint.size} leaves")
        first_seen = seen_at
    else:
        if checkpoint.origin != state.checkpoint.origin:
            raise _Stop("origin_changed", f"the checkpoint is for {checkpoint.origin!r}, not the kept origin "
                        f"{state.checkpoint.origin!r}", evidence=[(".txt", note)], checkpoint=checkpoint)
        previous = state.checkpoint.size
        reason = _compare(fetch, base, state.checkpoint, checkpoint, note)
        message = (f"the log of {checkpoint.origin} is unchanged at {checkpoint.size} leaves" if reason == "unchanged"
                   else f"the log of {checkpoint.origin} grew consistently from {previous} to {checkpoint.size} "
                   "leaves")
        if verifier != state.key:
            message += f" (now checked with the key {verifier.key_text()})"
        first_seen = state.first_seen_at or seen_at
    try:
        write_atomic(state_path, _state_json(base, verifier, checkpoint, note, first_seen, seen_at))
    except OSError as exc:
        raise _Stop("state_unwritable", f"the log checks out but the state file cannot be written: {exc}",
                    checkpoint=checkpoint) from None
    return reason, message, checkpoint, previous


def witness(base_url: str, state_path: Path, *, key: str | None = None, fetch: Fetch | None = None,
            timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], datetime] = _utcnow) -> WitnessResult:
    """Check the log at ``base_url`` against the state kept in ``state_path`` (see the module docstring)."""
    state_path = Path(state_path)
    now = clock()
    try:
        reason, message, checkpoint, previous = _check(base_url, state_path, key, fetch or urllib_fetch(timeout),
                                                       now)
    except _Stop as stop:
        saved: tuple[Path, ...] = ()
        if stop.evidence and stop.exit_code == EXIT_MISBEHAVED:
            try:
                saved = _save_evidence(state_path, now.strftime("%Y%m%dT%H%M%SZ"), stop.evidence)
            except OSError as exc:
                stop.message += f" (the evidence could not be saved: {exc})"
        seen = stop.checkpoint
        return WitnessResult(stop.reason, stop.message, stop.exit_code, origin=seen.origin if seen else None,
                             size=seen.size if seen else None, root=seen.root if seen else None, evidence=saved)
    return WitnessResult(reason, message, EXIT_OK, origin=checkpoint.origin, size=checkpoint.size,
                         root=checkpoint.root, previous_size=previous)


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auxduty log witness",
        description="Check, from outside the service, that its transparency log only ever grew since the last "
                    "run. Exit 0: consistent; 1: the log misbehaved; 2: could not check.")
    parser.add_argument("--url", required=True, help="the service's base URL, e.g. https://duty.example.org")
    parser.add_argument("--state", required=True, type=Path, help="the state file this witness keeps")
    parser.add_argument("--key", help="the log's verifier key, or a file holding it (first run, or a rotation)")
    parser.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """The command line: one line of outcome on stdout, the exit code returned."""
    args = _parser().parse_args(argv)
    result = witness(args.url, args.state, key=args.key, timeout=args.timeout)
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.line(), flush=True)
    return result.exit_code

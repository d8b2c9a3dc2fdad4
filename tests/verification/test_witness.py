"""The outside witness against a small log served over real HTTP: it passes a log that only grows, and says
so (exit 1, evidence kept) when records were deleted or altered (第十条(三)), but not when it merely could not
ask (exit 2)."""

import base64
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verification.note import Checkpoint, sign_note, verifier_key
from verification.tlog import CompactRange, consistency_proof, leaf_hash
from verification.witness import EXIT_MISBEHAVED, EXIT_OK, EXIT_UNCHECKED, WitnessResult, run, witness

ORIGIN = "duty.example.org/log"


@dataclass
class FakeLog:
    """A log as the service keeps it: leaves, the perfect subtrees ``CompactRange.append`` reports, a key."""

    origin: str = ORIGIN
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    leaves: list[bytes] = field(default_factory=list)
    note_override: str | None = None
    proof_override: bytes | None = None
    fail: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return verifier_key(self.origin, self.private.public_key())

    def add(self, count: int, tag: str = "") -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"record {i}{tag}".encode()) for i in range(start, start + count)]

    def nodes(self) -> dict[tuple[int, int], bytes]:
        nodes, tree = {}, CompactRange()
        for i, h in enumerate(self.leaves):
            nodes[(0, i)] = h
            nodes.update({(level, index): digest for level, index, digest in tree.append(h)})
        return nodes

    def root(self) -> bytes:
        tree = CompactRange()
        for h in self.leaves:
            tree.append(h)
        return tree.root()

    def checkpoint(self) -> str:
        if self.note_override is not None:
            return self.note_override
        body = Checkpoint(self.origin, len(self.leaves), self.root()).body()
        return sign_note(body, [(self.origin, self.private)])

    def consistency(self, first: int, second: int) -> bytes:
        if self.proof_override is not None:
            return self.proof_override
        nodes = self.nodes()
        proof = consistency_proof(first, second, lambda level, index: nodes[(level, index)])
        return json.dumps({"first": first, "second": second, "hashes": [h.hex() for h in proof]}).encode()


def _handler(log: FakeLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            log.requests.append(url.path)
            if url.path in log.fail:
                self._send(log.fail[url.path], b"unavailable")
            elif url.path == "/api/public/log/key":
                self._send(200, log.key.encode())
            elif url.path == "/api/public/log/checkpoint":
                self._send(200, log.checkpoint().encode())
            elif url.path == "/api/public/log/proof/consistency":
                query = urllib.parse.parse_qs(url.query)
                body = log.consistency(int(query["first"][0]), int(query["second"][0]))
                self._send(200, body, "application/json")
            else:
                self._send(404, b"not found")

    return Handler


@dataclass
class Service:
    log: FakeLog
    url: str


@pytest.fixture
def service() -> Iterator[Service]:
    log = FakeLog()
    log.add(5)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(log))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Service(log, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "state.json"


def check(service: Service, state: Path, key: str | None = None) -> WitnessResult:
    return witness(service.url, state, key=key, timeout=5)


def _kept(state: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state.read_text())
    return data


def _rejected(state: Path) -> list[Path]:
    return sorted(state.parent.glob(f"{state.name}.rejected-*"))


def _first_run(service: Service, state: Path) -> bytes:
    result = check(service, state)
    assert result.exit_code == EXIT_OK and result.reason == "first_run", result.line()
    return state.read_bytes()


def test_first_run_keeps_the_state(service: Service, state: Path) -> None:
    result = check(service, state)
    assert (result.exit_code, result.reason, result.size, result.root) == (EXIT_OK, "first_run", 5, service.log.root())
    kept = _kept(state)
    assert kept["origin"] == ORIGIN and kept["key"] == service.log.key
    assert kept["size"] == 5 and base64.b64decode(kept["root"]) == service.log.root()
    assert kept["checkpoint"] == service.log.checkpoint()
    assert kept["seen_at"].endswith("Z") and kept["first_seen_at"] == kept["seen_at"]
    assert "trusted on first use" in result.message
    assert [p.name for p in state.parent.iterdir()] == ["state.json"]  # no temporary file left behind


def test_growth_with_a_valid_consistency_proof_passes(service: Service, state: Path) -> None:
    _first_run(service, state)
    service.log.add(7)
    result = check(service, state)
    assert (result.exit_code, result.reason, result.previous_size, result.size) == (EXIT_OK, "grew", 5, 12)
    assert _kept(state)["size"] == 12
    assert "/api/public/log/proof/consistency" in service.log.requests
    again = check(service, state)
    assert (again.exit_code, again.reason) == (EXIT_OK, "unchanged")


def test_growth_from_an_empty_log_needs_no_proof(service: Service, state: Path) -> None:
    service.log.leaves = []
    _first_run(service, state)
    service.log.add(3)
    service.log.requests.clear()
    assert check(service, state).reason == "grew"
    assert "/api/public/log/proof/consistency" not in service.log.requests


def test_a_shrunk_log_is_truncated(service: Service, state: Path) -> None:
    service.log.add(7)
    before = _first_run(service, state)
    service.log.leaves = service.log.leaves[:8]
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "log_truncated")
    assert "shrank from 12 to 8" in result.message
    assert state.read_bytes() == before
    [evidence] = _rejected(state)
    assert evidence.name.startswith("state.json.rejected-") and evidence.suffix == ".txt"
    assert evidence.read_text() == service.log.checkpoint()
    assert result.evidence == (evidence,)


def test_same_size_other_root_is_rewritten(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    service.log.leaves[3] = leaf_hash(b"altered record")
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "log_rewritten")
    assert state.read_bytes() == before
    assert len(_rejected(state)) == 1


def test_growth_over_a_rewritten_history_is_rewritten(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    service.log.leaves[2] = leaf_hash(b"altered record")
    service.log.add(6)
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "log_rewritten")
    assert "consistency proof fails" in result.message
    assert state.read_bytes() == before
    kinds = sorted("".join(p.suffixes[-2:]) if p.name.endswith(".consistency.json") else p.suffix
                   for p in _rejected(state))
    assert kinds == [".consistency.json", ".txt"]


def test_a_forged_proof_for_a_deleted_record_fails(service: Service, state: Path) -> None:
    service.log.add(3)
    before = _first_run(service, state)
    genuine = service.log.leaves
    service.log.leaves = genuine[:4] + genuine[5:]  # one record deleted, the later ones moved up ...
    service.log.add(4)  # ... and new ones appended so that the size grows
    assert check(service, state).reason == "log_rewritten"
    assert state.read_bytes() == before


def test_bad_signature(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    service.log.add(2)
    genuine = service.log.checkpoint()
    service.log.note_override = genuine.replace("\n7\n", "\n8\n", 1)  # the body changed, the signature kept
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "bad_signature")
    assert state.read_bytes() == before
    assert [p.read_text() for p in _rejected(state)] == [service.log.note_override]


def test_a_checkpoint_signed_by_another_key_is_a_bad_signature(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    body = Checkpoint(ORIGIN, 5, service.log.root()).body()
    service.log.note_override = sign_note(body, [(ORIGIN, Ed25519PrivateKey.generate())])
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "bad_signature")
    assert state.read_bytes() == before


def test_service_down_is_not_tampering(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = witness(f"http://127.0.0.1:{port}", state, timeout=2)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "unreachable")
    assert state.read_bytes() == before and _rejected(state) == []


@pytest.mark.parametrize("path", ["/api/public/log/key", "/api/public/log/checkpoint",
                                  "/api/public/log/proof/consistency"])
def test_http_errors_are_not_tampering(service: Service, state: Path, path: str) -> None:
    before = _first_run(service, state)
    service.log.add(1)
    service.log.fail[path] = 503
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "unreachable")
    assert "HTTP 503" in result.message
    assert state.read_bytes() == before and _rejected(state) == []


@pytest.mark.parametrize("answer", [
    b"not json", b"[]", b'{"first": 5, "second": 6}', b'{"first": 4, "second": 6, "hashes": []}',
    b'{"first": 5, "second": 6, "hashes": ["zz"]}', b'{"first": true, "second": 6, "hashes": []}',
    b'{"first": 5, "second": 6, "hashes": "00"}', b"\xff\xfe",
])
def test_malformed_proof_answer_could_not_check(service: Service, state: Path, answer: bytes) -> None:
    before = _first_run(service, state)
    service.log.add(1)
    service.log.proof_override = answer
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "malformed_answer")
    assert state.read_bytes() == before and _rejected(state) == []


def test_malformed_checkpoint_could_not_check(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    service.log.note_override = "<html>maintenance</html>"
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "malformed_answer")
    assert state.read_bytes() == before


def test_a_changed_key_is_not_trusted_silently(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    old_key = service.log.key
    service.log.private = Ed25519PrivateKey.generate()
    service.log.add(2)
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "key_changed")
    assert state.read_bytes() == before
    assert [p.read_text() for p in _rejected(state)] == [service.log.key]
    # the operator names the new key: the log is still checked against what was kept
    accepted = check(service, state, key=service.log.key)
    assert (accepted.exit_code, accepted.reason) == (EXIT_OK, "grew")
    assert _kept(state)["key"] == service.log.key != old_key
    assert check(service, state).reason == "unchanged"


def test_origin_changed(service: Service, state: Path) -> None:
    before = _first_run(service, state)
    body = Checkpoint("elsewhere.example/log", 5, service.log.root()).body()
    service.log.note_override = sign_note(body, [(ORIGIN, service.log.private)])
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "origin_changed")
    assert state.read_bytes() == before


def test_key_given_on_the_first_run(service: Service, state: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "log.vkey"
    key_file.write_text(service.log.key + "\n")
    result = check(service, state, key=str(key_file))
    assert (result.exit_code, result.reason) == (EXIT_OK, "first_run")
    assert "given with --key" in result.message
    assert "/api/public/log/key" not in service.log.requests
    assert _kept(state)["key"] == service.log.key


def test_a_given_key_the_log_does_not_sign_with(service: Service, state: Path) -> None:
    other = verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    result = check(service, state, key=other)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "bad_signature")
    assert not state.exists()
    assert [p.read_text() for p in _rejected(state)] == [service.log.checkpoint()]


@pytest.mark.parametrize("key", ["not a key", "/no/such/file"])
def test_a_bad_key_argument(service: Service, state: Path, key: str) -> None:
    result = check(service, state, key=key)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "bad_key")


@pytest.mark.parametrize("content", ["{", "[]", '{"version": 1}'])
def test_an_unreadable_state_is_left_alone(service: Service, state: Path, content: str) -> None:
    state.parent.mkdir(parents=True)
    state.write_text(content)
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "bad_state")
    assert state.read_text() == content


def test_a_doctored_state_is_refused(service: Service, state: Path) -> None:
    _first_run(service, state)
    kept = _kept(state)
    kept["size"] = 4
    state.write_text(json.dumps(kept))
    assert check(service, state).reason == "bad_state"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:8000"])
def test_only_http_urls(state: Path, url: str) -> None:
    result = witness(url, state)
    assert (result.exit_code, result.reason) == (EXIT_UNCHECKED, "bad_url")


def test_command_line(service: Service, state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--url", service.url, "--state", str(state)]) == EXIT_OK
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("ok (first_run): ")
    service.log.leaves.pop()
    assert run(["--url", service.url, "--state", str(state), "--json", "--timeout", "3"]) == EXIT_MISBEHAVED
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["reason"] == "log_truncated" and out["size"] == 4 and len(out["evidence"]) == 1


def test_command_line_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["--url", "http://127.0.0.1/"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        run(["--url", "http://127.0.0.1/", "--state", "s.json", "--timeout", "0"])
    capsys.readouterr()


def test_an_empty_tree_with_a_root_is_a_lie(service: Service, state: Path) -> None:
    body = Checkpoint(ORIGIN, 0, leaf_hash(b"not empty")).body()
    service.log.note_override = sign_note(body, [(ORIGIN, service.log.private)])
    result = check(service, state)
    assert (result.exit_code, result.reason) == (EXIT_MISBEHAVED, "log_rewritten")
    assert not state.exists() and "evidence kept in" in result.line()

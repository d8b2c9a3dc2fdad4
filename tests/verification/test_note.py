"""Signed notes and checkpoints, against the published examples of golang.org/x/mod/sumdb/note and C2SP.

A checkpoint signed by the log is what lets anyone prove later that a record was deleted or altered
(第十条(三)); its encoding must match the other implementations byte for byte.
"""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from verification.note import (
    BadSignatureError,
    Checkpoint,
    MalformedNoteError,
    NoteError,
    UnknownKeyError,
    Verifier,
    key_hash,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    signer_key,
    verifier_key,
)
from verification.tlog import leaf_hash

# github.com/golang/mod, sumdb/note/note_test.go and example_test.go (also the package doc of note.go).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
             "BwJnAM=\n")
ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc"
             "+QQ=\n")

# github.com/C2SP/C2SP, signed-note.md ("Example").
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Z"
             "tg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

# github.com/C2SP/C2SP, tlog-checkpoint.md (the opening example; its public key is not published).
C2SP_CHECKPOINT = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                   "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1g"
                   "GzGku9nTo+zyWE+xeMcTOAYQ8=\n")

# github.com/golang/mod, sumdb/tlog/note_test.go (TestFormatTree / TestParseTree): the sum.golang.org tree
# note, whose hash is tlog.RecordHash("hello world"), that is, the RFC 6962 leaf hash.
GO_TREE = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"

PETER = parse_verifier_key(PETER_VKEY)
ENOCH = parse_verifier_key(ENOCH_VKEY)


def test_published_note_opens() -> None:
    opened = open_note(TEXT + "\n" + PETER_SIG, [PETER])
    assert opened.text == TEXT
    assert opened.verified == (PETER,) and opened.unverified == ()
    assert PETER.name == "PeterNeumann" and PETER.key_hash.hex() == "c74f20a3"


def test_published_signer_key_reproduces_the_published_signature() -> None:
    name, private = parse_signer_key(PETER_SKEY)
    assert name == "PeterNeumann"
    assert sign_note(TEXT, [(name, private)]) == TEXT + "\n" + PETER_SIG
    assert signer_key(name, private) == PETER_SKEY
    assert verifier_key(name, private.public_key()) == PETER_VKEY


def test_key_hash_and_verifier_key_text() -> None:
    assert key_hash(PETER.name, PETER.public_key_bytes).hex() == "c74f20a3"
    assert verifier_key(PETER.name, PETER.public_key) == PETER_VKEY == PETER.key_text()
    assert parse_verifier_key("  " + PETER_VKEY + "\n") == PETER


def test_c2sp_signed_note_example() -> None:
    opened = open_note(C2SP_NOTE, [parse_verifier_key(C2SP_VKEY)])
    assert opened.text == "This is an example message.\n"


def test_one_verified_one_unverified_and_both() -> None:
    msg = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    one = open_note(msg, [PETER])
    assert one.verified == (PETER,)
    assert [(s.name, s.key_hash.hex()) for s in one.unverified] == [("EnochRoot", "af0cfe78")]
    both = open_note(msg.encode(), [PETER, ENOCH])
    assert both.verified == (PETER, ENOCH) and both.unverified == ()


def test_no_known_signature_is_unknown_key() -> None:
    with pytest.raises(UnknownKeyError) as caught:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert caught.value.reason == "unknown_key"
    assert [s.name for s in caught.value.signatures] == ["PeterNeumann", "EnochRoot"]


def test_invalid_signature_by_a_known_key() -> None:
    with pytest.raises(BadSignatureError) as caught:
        open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [PETER])
    assert caught.value.reason == "bad_signature"
    assert "PeterNeumann+c74f20a3" in str(caught.value)


def test_duplicate_signatures_are_dropped() -> None:
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    opened = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd, [PETER])
    assert opened.verified == (PETER,)
    assert len(opened.unverified) == 2


def test_too_many_signatures() -> None:
    for known in ([PETER], []):
        with pytest.raises(MalformedNoteError) as caught:
            open_note(TEXT + "\n" + PETER_SIG * 101, known)
        assert caught.value.reason == "malformed"
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [PETER]).verified == (PETER,)


@pytest.mark.parametrize("msg", [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name")[:-1],
    TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    # and a few more of the same kind
    TEXT + "\n" + "— PeterNeumann\n",
    TEXT + "\n" + "— PeterNeumann \n",
    TEXT + "\n" + "— PeterNeumann AAAA\n",
    TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
    TEXT + "\n" + PETER_SIG.replace("— ", "- "),
    TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),
    "\r" + TEXT + "\n" + PETER_SIG,
    TEXT + "\ud800\n\n" + PETER_SIG,
])
def test_malformed_notes(msg: str) -> None:
    with pytest.raises(MalformedNoteError) as caught:
        open_note(msg, [PETER])
    assert caught.value.reason == "malformed"


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(MalformedNoteError):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [PETER])


def _manglings(text: str) -> list[str]:
    """As TestNewVerifier / TestNewSigner do: every proper substring, and every character bumped by one."""
    out = [text[i:j] for i in range(len(text) + 1) for j in range(i + 1, len(text) + 1) if (i, j) != (0, len(text))]
    out += [text[:i] + chr(ord(text[i]) + 1) + text[i + 1:] for i in range(len(text))]
    return out


def test_mangled_verifier_keys_are_rejected() -> None:
    for bad in [*_manglings(PETER_VKEY),
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong key length
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"]:  # unknown algorithm
        with pytest.raises(MalformedNoteError):
            parse_verifier_key(bad)


def test_mangled_signer_keys_are_rejected() -> None:
    for bad in _manglings(PETER_SKEY):
        with pytest.raises(MalformedNoteError):
            parse_signer_key(bad)


# --- round trips with fresh keys -------------------------------------------------------------------------


def _key(name: str) -> tuple[Ed25519PrivateKey, Verifier]:
    private = Ed25519PrivateKey.generate()
    return private, parse_verifier_key(verifier_key(name, private.public_key()))


def test_round_trip_with_several_signers() -> None:
    log_key, log = _key("duty.example.org/log")
    other_key, other = _key("witness.example")
    text = "one line\n\nan empty line above is allowed\n"
    signed = sign_note(text, [(log.name, log_key), (other.name, other_key)])
    assert signed.startswith(text + "\n— duty.example.org/log ")
    assert open_note(signed, [log]).text == text
    assert open_note(signed, [other, log]).verified == (log, other)


def test_tampered_text_fails_the_signature() -> None:
    private, verifier = _key("duty.example.org/log")
    signed = sign_note("size 10\n", [(verifier.name, private)])
    with pytest.raises(BadSignatureError):
        open_note(signed.replace("size 10", "size 11"), [verifier])


def test_tampered_signature_fails() -> None:
    private, verifier = _key("duty.example.org/log")
    signed = sign_note("hello\n", [(verifier.name, private)])
    head, encoded = signed.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    with pytest.raises(BadSignatureError):
        open_note(f"{head} {base64.b64encode(bytes(raw)).decode()}\n", [verifier])


def test_keys_sharing_only_a_name_or_a_hash_are_ignored() -> None:
    private, verifier = _key("duty.example.org/log")
    _, same_name = _key("duty.example.org/log")
    signed = sign_note("hello\n", [(verifier.name, private)])
    with pytest.raises(UnknownKeyError):
        open_note(signed, [same_name])
    renamed = signed.replace("— duty.example.org/log ", "— other.example ")
    with pytest.raises(UnknownKeyError):
        open_note(renamed, [verifier])


def test_conflicting_known_keys_are_refused() -> None:
    _, verifier = _key("a")
    forged = Verifier(verifier.name, verifier.key_hash, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ValueError):
        open_note(TEXT + "\n" + PETER_SIG, [verifier, forged])
    assert open_note(TEXT + "\n" + PETER_SIG, [PETER, PETER]).verified == (PETER,)


@pytest.mark.parametrize("text", ["no newline", "bell\x07\n", "\ud800\n"])
def test_sign_refuses_bad_text(text: str) -> None:
    private, verifier = _key("a")
    with pytest.raises(MalformedNoteError):
        sign_note(text, [(verifier.name, private)])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0"])
def test_bad_key_names(name: str) -> None:
    private = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError):
        sign_note("x\n", [(name, private)])
    with pytest.raises(ValueError):
        verifier_key(name, private.public_key())


def test_verifier_equality() -> None:
    assert parse_verifier_key(PETER_VKEY) == PETER and hash(parse_verifier_key(PETER_VKEY)) == hash(PETER)
    assert PETER != ENOCH and PETER != PETER_VKEY
    assert PETER_VKEY in repr(PETER)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(),
    st.binary(),
    st.builds(lambda t, n, s: f"{t}\n\n— {n} {s}\n", st.text(), st.text(), st.text()),
    st.builds(lambda t, s: f"{t}\n\n— PeterNeumann {base64.b64encode(s).decode()}\n", st.text(), st.binary()),
    st.builds(lambda t, tail: t + "\n" + PETER_SIG + tail, st.text(), st.text()),
))
def test_arbitrary_input_raises_only_note_errors(msg: str | bytes) -> None:
    try:
        opened = open_note(msg, [PETER, ENOCH])
    except NoteError as exc:
        assert exc.reason in ("malformed", "bad_signature", "unknown_key")
    else:
        assert opened.text == TEXT


# --- checkpoints -----------------------------------------------------------------------------------------


def test_c2sp_checkpoint_example() -> None:
    body = C2SP_CHECKPOINT[:C2SP_CHECKPOINT.rindex("\n\n") + 1]
    checkpoint = parse_checkpoint(body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == body
    # well-formed, but signed by a key we do not know
    with pytest.raises(UnknownKeyError) as caught:
        open_checkpoint(C2SP_CHECKPOINT, [PETER])
    assert [s.name for s in caught.value.signatures] == ["example.com/behind-the-sofa"]


def test_go_sumdb_tree_note() -> None:
    checkpoint = parse_checkpoint(GO_TREE)
    assert checkpoint == Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert checkpoint.body() == GO_TREE
    # sumdb ignores what follows; a checkpoint keeps it as extension lines
    assert parse_checkpoint(GO_TREE + "JOE\n").extensions == ("JOE",)


@pytest.mark.parametrize("bad", [
    "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",  # sumdb/tlog/note_test.go
    "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",  # ditto
    GO_TREE + "JOE",  # no final newline
    GO_TREE + "\nJOE\n",  # an empty extension line
    GO_TREE.replace("123456789012", "0123456789012"),
    GO_TREE.replace("123456789012", "+123456789012"),
    GO_TREE.replace("123456789012", "-1"),
    GO_TREE.replace("123456789012", " 1"),
    GO_TREE.replace("123456789012", "١٢٣"),
    GO_TREE.replace("123456789012", str(2**64)),
    GO_TREE.replace("123456789012", ""),
    GO_TREE.replace("go.sum database tree", ""),
    GO_TREE.replace("Bb0=", "Bb1="),  # non-canonical base64 of the same bytes
    GO_TREE.replace("Bb0=", "Bb0"),
    GO_TREE.replace("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=", base64.b64encode(bytes(31)).decode()),
    "go.sum database tree\n123456789012\n",
    "",
    "\n\n\n",
    GO_TREE.replace("tree", "tree\x00"),
])
def test_malformed_checkpoints(bad: str) -> None:
    with pytest.raises(MalformedNoteError):
        parse_checkpoint(bad)


def test_zero_is_a_size() -> None:
    assert parse_checkpoint(GO_TREE.replace("123456789012", "0")).size == 0
    assert parse_checkpoint(GO_TREE.replace("123456789012", str(2**64 - 1))).size == 2**64 - 1


def test_checkpoint_round_trip_with_extensions() -> None:
    private, verifier = _key("duty.example.org/log")
    checkpoint = Checkpoint("duty.example.org/log", 42, leaf_hash(b"x"), ("ext one", "ext-two"))
    note = sign_note(checkpoint.body(), [(verifier.name, private)])
    assert open_checkpoint(note, [verifier]) == checkpoint
    assert open_checkpoint(note.encode(), [verifier]) == checkpoint


def test_a_signed_note_that_is_not_a_checkpoint() -> None:
    private, verifier = _key("duty.example.org/log")
    with pytest.raises(MalformedNoteError):
        open_checkpoint(sign_note("duty.example.org/log\n42\n", [(verifier.name, private)]), [verifier])


@pytest.mark.parametrize(("origin", "size", "root", "extensions"), [
    ("", 1, bytes(32), ()), ("a\nb", 1, bytes(32), ()), ("a", -1, bytes(32), ()), ("a", True, bytes(32), ()),
    ("a", 2**64, bytes(32), ()), ("a", 1, bytes(31), ()), ("a", 1, bytes(32), ("",)), ("a", 1, bytes(32), ("x\n",)),
])
def test_checkpoint_fields_are_checked(origin: str, size: int, root: bytes, extensions: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Checkpoint(origin, size, root, extensions)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.builds(lambda a, b, c: f"{a}\n{b}\n{c}\n", st.text(), st.text(), st.text())))
def test_arbitrary_checkpoint_text_raises_only_note_errors(text: str) -> None:
    try:
        checkpoint = parse_checkpoint(text)
    except NoteError:
        return
    assert checkpoint.body() == text

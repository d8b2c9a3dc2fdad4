"""The compact badge QR: signed by the badge keys, a version 7-8 QR at error correction M, checked offline with
nothing but the JWKS JSON."""

import base64
import json
import uuid
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verification import compact
from verification.card import render_badge_card
from verification.compact import BadCompactCode, compact_url, sign_compact, verify_compact
from verification.qr import decode_qr
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available
from verification.tokens import BadTokenError, KeyRing

BASE = "https://verify.example.gov.cn"
LONGEST_BASE = "https://" + "verify-badges.city-law-enforcement.nanjing.example.gov.cn".ljust(70, "x")
"""78 characters: the longest public base URL (scheme and host, no path) that keeps the QR at version 8."""


def _jwks(ring: KeyRing) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(ring.jwks()))  # only what travels as JSON
    return loaded


def test_round_trip_through_the_ring_and_offline_with_the_jwks_alone(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    cred = uuid.uuid4()
    code, kid = ring.sign_compact(credential_id=cred, version=3)
    assert len(code) == compact.CODE_CHARS and code == code.upper()
    url = compact_url(BASE, code)
    assert url == f"HTTPS://VERIFY.EXAMPLE.GOV.CN/B/{code}"
    claims = verify_compact(url, _jwks(ring))
    assert (claims.credential_id, claims.version, claims.kid) == (cred, 3, kid)
    assert verify_compact(url.lower(), _jwks(ring)) == claims  # a phone that lower-cased it
    assert verify_compact(code, _jwks(ring)) == claims
    badge = ring.verify_badge(code)
    assert (badge.credential_id, badge.version, badge.kid) == (cred, 3, kid)


@pytest.mark.parametrize(("base", "version"), [(BASE, 7), (LONGEST_BASE, 8)])
def test_qr_is_alphanumeric_at_version_8_or_lower_at_ec_m(tmp_path: Path, base: str, version: int) -> None:
    code, _ = KeyRing(tmp_path).sign_compact(credential_id=uuid.uuid4(), version=65535)
    qr = segno.make(compact_url(base, code), error="m", boost_error=False)
    assert (qr.mode, qr.version, qr.error) == ("alphanumeric", version, "M")
    too_long = segno.make(compact_url(LONGEST_BASE + "x", code), error="m", boost_error=False)
    assert too_long.version == 9


def test_tampering_with_any_byte_or_character_is_invalid(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    jwks = _jwks(ring)
    code, _ = ring.sign_compact(credential_id=uuid.uuid4(), version=1)
    payload = base64.b32decode(code + "=" * (-len(code) % 8))
    for i in range(len(payload)):
        forged = bytearray(payload)
        forged[i] ^= 0x01
        text = base64.b32encode(bytes(forged)).decode().rstrip("=")
        with pytest.raises(BadCompactCode):
            verify_compact(text, jwks)
        with pytest.raises(BadTokenError):
            ring.verify_badge(text)
    for i, char in enumerate(code):  # the last character's spare bits too: one payload, one code
        other = "A" if char != "A" else "B"
        with pytest.raises(BadCompactCode):
            verify_compact(code[:i] + other + code[i + 1:], jwks)
    for junk in ("", "AAAA", code + "A", code[:-1] + "1", "eyJ0.eyJ1.c2ln", code.replace("A", "=")):
        with pytest.raises(BadCompactCode):
            verify_compact(junk, jwks)


def test_unknown_key_is_invalid(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    stranger = sign_compact(Ed25519PrivateKey.generate(), kid=ring.active_kid, credential_id=uuid.uuid4(), version=1)
    with pytest.raises(BadCompactCode, match="bad signature"):
        verify_compact(stranger, _jwks(ring))  # the right key hash, someone else's key
    elsewhere = sign_compact(Ed25519PrivateKey.generate(), kid="2601ffffff", credential_id=uuid.uuid4(), version=1)
    with pytest.raises(compact.UnknownKey):
        verify_compact(elsewhere, _jwks(ring))
    with pytest.raises(BadTokenError):
        ring.verify_badge(elsewhere)
    with pytest.raises(compact.UnknownKey):
        verify_compact(ring.sign_compact(credential_id=uuid.uuid4(), version=1)[0], {"keys": []})


def test_rotation_old_badges_verify_while_their_key_is_published(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    old, old_kid = ring.sign_compact(credential_id=uuid.uuid4(), version=1)
    new_kid = ring.rotate()
    new, kid = ring.sign_compact(credential_id=uuid.uuid4(), version=1)
    assert kid == new_kid != old_kid
    assert verify_compact(old, _jwks(ring)).kid == old_kid
    assert verify_compact(new, _jwks(ring)).kid == new_kid
    fresh = KeyRing(tmp_path)  # another process that loads the rotated store
    assert fresh.verify_badge(old).kid == old_kid
    fresh.retire(old_kid)
    with pytest.raises(compact.UnknownKey):
        verify_compact(old, _jwks(fresh))
    with pytest.raises(BadTokenError):
        fresh.verify_badge(old)


def test_keys_fixed_by_the_environment_sign_compact_badges(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    ring = KeyRing(tmp_path / "k", fixed_keys=json.dumps({"active": "k1", "keys": {"k1": pem}}))
    code, kid = ring.sign_compact(credential_id=uuid.uuid4(), version=2)
    assert kid == "k1" and verify_compact(code, _jwks(ring)).version == 2


def test_issue_numbers_beyond_two_bytes_are_refused_at_signing() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        sign_compact(Ed25519PrivateKey.generate(), kid="k", credential_id=uuid.uuid4(), version=65536)


def test_offline_cli_needs_only_the_jwks_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring = KeyRing(tmp_path / "keys")
    cred = uuid.uuid4()
    code, kid = ring.sign_compact(credential_id=cred, version=4)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(ring.jwks()))
    assert compact.main([str(path), compact_url(BASE, code)]) == 0
    assert json.loads(capsys.readouterr().out) == {"credential_id": str(cred), "version": 4, "kid": kid}
    # One letter of the signature changed (not the last ones, which may end in padding bits; never to itself).
    tampered = code[:-4] + ("B" if code[-4] != "B" else "C") + code[-3:]
    assert compact.main([str(path), compact_url(BASE, tampered)]) == 1
    assert capsys.readouterr().out.startswith("invalid:")


@pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
def test_a_card_with_the_compact_qr_decodes_back_to_its_text(tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    code, _ = KeyRing(tmp_path).sign_compact(credential_id=uuid.uuid4(), version=1)
    url = compact_url(BASE, code)
    png = render_badge_card(name="张伟", badge_no="A8972138", agency="玄武区城市管理局", command_agency=None,
                            qr_text=url, photo=None)
    assert decode_qr(Image.open(BytesIO(png))) == url


DOC_SEED = "52be456b0529697362877e34c64bd36e32e817443823439999bfb02a8290ba6f"
DOC_CODE = ("AFHCGGU5DYWTYS22NFDYRGQLDQWT4T22NMAAEDS2WKHHJOIY4HYAOPVD3U7PA6TKCEYJ"
            "J2E3BG7UNH3Z3XDYHASDQI2EJ552CVAQTCVFDCWHAW7EB4G7VBOUHGOVJBTPKUEOWETFLMDQ")
DOC_JWKS = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "OSc_9MU_fkXUpdcVwEP_UG46eu4h_Ac0rOPhGeg6QBI",
                      "kid": "2612a1b2c3", "alg": "EdDSA", "use": "sig"}]}


def test_the_worked_example_of_the_docs_holds() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(DOC_SEED))
    cred = uuid.UUID("1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b")
    assert sign_compact(key, kid="2612a1b2c3", credential_id=cred, version=2) == DOC_CODE
    url = compact_url(BASE, DOC_CODE)
    assert len(url) == 172 and segno.make(url, error="m", boost_error=False).designator == "7-M"
    assert verify_compact(url, DOC_JWKS) == compact.CompactClaims(cred, 2, "2612a1b2c3")
    # The stand-alone snippet of docs/compact-qr.md, run as written.
    doc = (Path(__file__).parents[2] / "docs" / "compact-qr.md").read_text(encoding="utf-8")
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {}
    exec(snippet, scope)
    assert scope["verify"](url, DOC_JWKS) == (cred, 2, "2612a1b2c3")  # type: ignore[operator]

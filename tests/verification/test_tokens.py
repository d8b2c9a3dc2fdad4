"""Badge signing keys: rotation (also from the CLI beside a live service) and keys fixed by the environment."""

import json
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.cli import main
from api.settings import get_settings
from verification.tokens import BadTokenError, KeyRing, KeyRingError


def _pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_cli_rotation_is_picked_up_by_a_running_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    live = KeyRing(tmp_path / "keys")
    old_token, old_kid = live.sign_badge(credential_id=uuid.uuid4(), version=1)
    monkeypatch.setenv("AUXDUTY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["keys", "rotate"]) == 0
    finally:
        get_settings.cache_clear()
    assert "new signing key" in capsys.readouterr().out
    _, new_kid = live.sign_badge(credential_id=uuid.uuid4(), version=1)
    assert new_kid != old_kid
    assert {k["kid"] for k in live.jwks()["keys"]} == {old_kid, new_kid}
    assert live.verify_badge(old_token).kid == old_kid


def test_keys_fixed_by_the_environment_sign_publish_and_refuse_rotation(tmp_path: Path) -> None:
    spec = json.dumps({"active": "k2", "keys": {"k1": _pem(), "k2": _pem()}})
    ring = KeyRing(tmp_path / "keys", fixed_keys=spec)
    token, kid = ring.sign_badge(credential_id=uuid.uuid4(), version=3)
    assert kid == "k2" and not (tmp_path / "keys").exists()
    keys = jwt.PyJWKSet.from_dict(ring.jwks())
    assert {k.key_id for k in keys.keys} == {"k1", "k2"}
    assert jwt.decode(token, keys["k2"].key, algorithms=["EdDSA"], audience="auxduty:badge")["ver"] == 3
    with pytest.raises(KeyRingError):
        ring.rotate()


@pytest.mark.parametrize("spec", ["not json", '{"active": "x", "keys": {}}', '{"active": "a", "keys": {"a": "x"}}'])
def test_unusable_environment_keys_are_refused_at_start(tmp_path: Path, spec: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing(tmp_path, fixed_keys=spec)


def test_a_token_signed_with_an_unpublished_key_is_bad(tmp_path: Path) -> None:
    forged = jwt.encode({"aud": "auxduty:badge", "sub": str(uuid.uuid4()), "ver": 1, "iat": 1},
                        Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "k1", "typ": "badge"})
    ring = KeyRing(tmp_path, fixed_keys=json.dumps({"active": "k1", "keys": {"k1": _pem()}}))
    with pytest.raises(BadTokenError):
        ring.verify_badge(forged)

"""Two hosts on one PostgreSQL database, each with its own data dir and the same AUXDUTY_SECRET_KEY, are one
service (API.md, "One service on many hosts"): a login on one works on the other, a badge signed on one
verifies on the other, a key rotated on one signs on the other within a second, and checkpoints signed on
either verify with the same published key. A host given another secret, or none, refuses to start."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.context import AppContext, ConfigurationError
from api.db import leaf_info, make_engine
from api.domain.audit.checkpoints import make_checkpoint
from api.domain.audit.tree import integrate_all
from api.domain.models import Credential, Role
from api.keystore import BADGE, LOG, DatabaseKeyStore, DatabaseLogKeys, Sealer, SealError
from api.main import create_app
from api.migrations import upgrade_to_head
from tests.conftest import TEST_LEAF_KEY, TEST_SECRET, _drop_pg_database, _fresh_pg_database, _worker, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_user
from verification.note import open_checkpoint, parse_verifier_key
from verification.tokens import FileKeyStore, KeyRing

pytestmark = pytest.mark.xdist_group("cluster")


@pytest.fixture
def shared_db() -> Iterator[Engine]:
    url = _fresh_pg_database(f"auxduty_hosts_{_worker()}")
    engine = make_engine(url)
    yield engine
    engine.dispose()
    _drop_pg_database(url)


def _host(engine: Engine, data_dir: Path, **overrides: object) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, log_dir=data_dir / "log", **overrides), engine=engine))


def _badge(host: TestClient, engine: Engine) -> str:
    with Session(engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        _, aux = make_auxiliary(s, make_agency(s))
        s.commit()
        cred = s.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
        assert cred is not None
        ring: KeyRing = host.app.state.ctx.keyring  # type: ignore[attr-defined]
        token, _ = ring.sign_badge(credential_id=cred.id, version=1)
        return token


def test_a_badge_and_a_login_from_one_host_work_on_the_other(shared_db: Engine, tmp_path: Path) -> None:
    with _host(shared_db, tmp_path / "a") as a, _host(shared_db, tmp_path / "b") as b:
        token = _badge(a, shared_db)
        assert b.get(f"/api/public/verify/{token}").json()["status"] == "valid"
        with Session(shared_db, info=leaf_info(TEST_LEAF_KEY)) as s:
            admin = make_user(s, role=Role.JUSTICE_ADMIN, agency=None)
            s.commit()
            headers = login(a, admin)
        assert b.get("/api/me", headers=headers).status_code == 200
        # Nothing about the keys was kept in either data dir: they are the database's.
        assert not list((tmp_path / "a" / "keys").glob("*.pem")) and not list((tmp_path / "b").glob("keys/*.pem"))


def test_a_key_rotated_on_one_host_signs_on_the_other_within_a_second(shared_db: Engine, tmp_path: Path) -> None:
    with _host(shared_db, tmp_path / "a") as a, _host(shared_db, tmp_path / "b") as b:
        ring_a: KeyRing = a.app.state.ctx.keyring  # type: ignore[attr-defined]
        ring_b: KeyRing = b.app.state.ctx.keyring  # type: ignore[attr-defined]
        old = _badge(b, shared_db)
        assert ring_a.active_kid == ring_b.active_kid
        new_kid = ring_a.rotate()
        deadline = time.monotonic() + 1.5
        while ring_b.active_kid != new_kid and time.monotonic() < deadline:
            ring_b.jwks()  # any use that may sign or publish follows the store
            time.sleep(0.05)
        assert ring_b.active_kid == new_kid
        assert {k["kid"] for k in b.get("/.well-known/jwks.json").json()["keys"]} >= {new_kid}
        fresh = _badge(b, shared_db)
        assert a.get(f"/api/public/verify/{fresh}").json()["status"] == "valid"
        assert a.get(f"/api/public/verify/{old}").json()["status"] == "valid"  # old badges keep verifying


def test_checkpoints_signed_on_either_host_verify_with_the_one_published_key(
    shared_db: Engine, tmp_path: Path
) -> None:
    with _host(shared_db, tmp_path / "a") as a, _host(shared_db, tmp_path / "b") as b:
        assert a.get("/api/public/log/key").text == b.get("/api/public/log/key").text
        key = parse_verifier_key(a.get("/api/public/log/key").text.strip())
        for host in (a, b):
            _badge(host, shared_db)
            ctx: AppContext = host.app.state.ctx  # type: ignore[attr-defined]
            with ctx.sessions.begin() as s:
                integrate_all(s)
                note = make_checkpoint(s, ctx.log).note
            assert open_checkpoint(note, [key]).size > 0


def test_a_host_given_another_secret_refuses_to_start(shared_db: Engine, tmp_path: Path) -> None:
    with _host(shared_db, tmp_path / "a"):
        pass
    with pytest.raises(SealError, match="AUXDUTY_SECRET_KEY"), _host(shared_db, tmp_path / "b",
                                                                   secret_key="another-secret-" + "y" * 40):
        pass


def test_a_host_on_postgresql_without_a_secret_refuses_to_start(shared_db: Engine, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="AUXDUTY_SECRET_KEY is not set"):
        AppContext.build(make_settings(tmp_path, secret_key=None), shared_db)


def test_keys_a_host_kept_in_its_data_dir_are_carried_over(shared_db: Engine, tmp_path: Path) -> None:
    # A host that ran before with keys in its data dir (printed badges signed by them) joins the database.
    old_ring = KeyRing(tmp_path / "a" / "keys")
    old_kid = old_ring.active_kid
    with _host(shared_db, tmp_path / "a") as a, _host(shared_db, tmp_path / "b") as b:
        ring_b: KeyRing = b.app.state.ctx.keyring  # type: ignore[attr-defined]
        assert old_kid in ring_b.kids and ring_b.active_kid == old_kid
        assert a.get("/.well-known/jwks.json").json() == b.get("/.well-known/jwks.json").json()
    assert FileKeyStore(tmp_path / "a" / "keys").load()[1] == old_kid
    with shared_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM signing_keys WHERE purpose = 'badge'")).scalar_one() == 1


@pytest.mark.parametrize("purpose", [BADGE, LOG])
def test_hosts_finding_no_key_at_once_make_one_between_them(shared_db: Engine, purpose: str) -> None:
    upgrade_to_head(shared_db)
    hosts = 6
    engines = [make_engine(shared_db.url.render_as_string(hide_password=False)) for _ in range(hosts)]
    barrier = threading.Barrier(hosts)
    signing: list[str] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        if purpose == BADGE:
            signing.append(DatabaseKeyStore(engine, Sealer(TEST_SECRET)).load()[1])
        else:
            key = DatabaseLogKeys(engine, Sealer(TEST_SECRET), "auxduty.test/log").private_keys()[0]
            signing.append(key.public_key().public_bytes_raw().hex())

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert len(signing) == hosts and len(set(signing)) == 1, signing
    with shared_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM signing_keys WHERE purpose = :p"),
                            {"p": purpose}).scalar_one() == 1

"""Web Push to an officer when a record comes to wait for their co-signature (第八条): a real push service on
loopback receives a VAPID-signed (RFC 8292), aes128gcm-encrypted (RFC 8291) message that the subscribed browser
decrypts, after the record was committed and answered; a dead, gone or silent push service changes nothing of
the record's answer."""

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.db import leaf_info
from api.domain.models import Agency, Officer, PushSubscription, Role, SigningKey, Task, User
from api.keystore import Sealer, SealError
from api.main import create_app
from api.push import Pusher
from api.settings import Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.push_service import Browser, PushService, b64url, push_service, vapid_claims


@pytest.fixture
def app_settings(data_dir: Path) -> Settings:
    return make_settings(data_dir, push_allowed_hosts="127.0.0.1", push_timeout_seconds=1.0)


@pytest.fixture
def pusher(client: TestClient) -> Iterator[Pusher]:
    """The app's sender. It writes each outcome on the test's one connection, from a thread of its own: a test
    lets it finish (``drain``) before it uses the connection again, and at the end."""
    sender: Pusher = client.app.state.ctx.push  # type: ignore[attr-defined]
    yield sender
    assert sender.drain(15), "web push messages still in flight"


@pytest.fixture
def service() -> Iterator[PushService]:
    with push_service() as s:
        yield s


class Scene:
    def __init__(self, client: TestClient, db: Session, service: PushService, pusher: Pusher) -> None:
        self.client, self.db, self.pusher = client, db, pusher
        self.agency: Agency = make_agency(db)
        self.officer_user, self.officer = make_officer(db, self.agency)
        aux_user, self.aux = make_auxiliary(db, self.agency, name="赵协管")
        self.aux_headers = login(client, aux_user)
        self.officer_headers = login(client, self.officer_user)
        self.browser = Browser(service.endpoint())

    def subscribe(self, headers: dict[str, str] | None = None, browser: Browser | None = None) -> None:
        r = self.client.post("/api/push/subscriptions", json=(browser or self.browser).subscription(),
                             headers=headers or self.officer_headers)
        assert r.status_code == 201, r.text

    def assisted(self, officer: Officer | None = None, **extra: Any) -> dict[str, Any]:
        return task_payload(category="inspection", officer_id=str((officer or self.officer).id), **extra)

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        """A request, and every push it set off sent and its outcome written."""
        r = self.client.post(path, json=body, headers=headers or self.aux_headers)
        assert self.pusher.drain(10)
        return r

    def record(self, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post("/api/tasks", body)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def public_key(self) -> str:
        key: str = self.client.get("/api/push/key", headers=self.officer_headers).json()["public_key"]
        return key


@pytest.fixture
def scene(client: TestClient, db: Session, service: PushService, pusher: Pusher) -> Scene:
    return Scene(client, db, service, pusher)


def _subscription(db: Session, endpoint: str) -> PushSubscription | None:
    return db.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                     .execution_options(populate_existing=True))


def test_the_named_officer_gets_a_signed_encrypted_push_their_browser_decrypts(
    scene: Scene, service: PushService, pusher: Pusher, db: Session
) -> None:
    scene.subscribe()
    earlier = scene.record(scene.assisted())
    task = scene.record(scene.assisted())
    assert pusher.drain(10)
    pushes = service.wait_for(2)
    assert len(pushes) == 2
    push = pushes[-1]
    claims = vapid_claims(push, scene.public_key(), audience=service.base)
    assert claims["sub"] == "mailto:webpush@verify.example.gov.cn"
    assert push.headers["content-encoding"] == "aes128gcm"
    assert int(push.headers["ttl"]) > 0 and push.headers["urgency"] == "high"
    assert scene.browser.decrypt(push) == {
        "type": "cosign_pending", "task_id": task["id"], "category": "inspection",
        "category_name": "协助开展行政检查、现场核查、调查取证", "auxiliary_name": "赵协管", "pending": 2,
        "task_ids": [task["id"]], "url": "/app/#/queue",
    }
    assert scene.browser.decrypt(pushes[0])["task_id"] == earlier["id"]
    row = _subscription(db, scene.browser.endpoint)
    assert row is not None and row.last_sent_at is not None and row.failures == 0


def test_a_push_service_answering_410_makes_the_subscription_go(
    scene: Scene, service: PushService, pusher: Pusher, db: Session
) -> None:
    service.status = 410
    scene.subscribe()
    scene.record(scene.assisted())
    assert pusher.drain(10)
    assert len(service.received) == 1
    assert _subscription(db, scene.browser.endpoint) is None


def test_a_failing_push_service_counts_failures_and_keeps_the_subscription(
    scene: Scene, service: PushService, pusher: Pusher, db: Session
) -> None:
    service.status = 500
    scene.subscribe()
    scene.record(scene.assisted())
    scene.record(scene.assisted())
    assert pusher.drain(10)
    row = _subscription(db, scene.browser.endpoint)
    assert row is not None and row.failures == 2 and row.last_sent_at is None


def test_a_silent_push_service_delays_nothing_and_the_task_is_stored(
    scene: Scene, client: TestClient, service: PushService, pusher: Pusher, db: Session
) -> None:
    service.hang = 30  # never answers within the send's timeout (1 s here)
    scene.subscribe()
    started = time.monotonic()
    r = client.post("/api/tasks", json=scene.assisted(), headers=scene.aux_headers)
    assert time.monotonic() - started < 2.0
    assert r.status_code == 201, r.text
    assert pusher.drain(10)  # the send gives up after its timeout; the failure is written
    task = r.json()
    assert len(service.received) == 1
    assert db.get(Task, uuid.UUID(task["id"])) is not None
    row = _subscription(db, scene.browser.endpoint)
    assert row is not None and row.failures == 1


def test_a_synced_batch_with_two_assisted_records_tells_the_officer(
    scene: Scene, client: TestClient, service: PushService, pusher: Pusher
) -> None:
    scene.subscribe()
    tasks = [scene.assisted(), scene.assisted(), task_payload()]
    r = scene.post("/api/sync", {"tasks": tasks})
    assert [t["result"] for t in r.json()["tasks"]] == ["created"] * 3
    assert len(service.received) == 1  # one message for the batch, naming its records
    payload = scene.browser.decrypt(service.received[0])
    assert payload["pending"] == 2 and payload["task_ids"] == [tasks[0]["id"], tasks[1]["id"]]
    assert payload["task_id"] == tasks[1]["id"]
    scene.post("/api/sync", {"tasks": tasks})  # all duplicates: nothing new
    assert len(service.received) == 1


def test_a_correction_waits_again_and_the_officer_is_told_again(
    scene: Scene, client: TestClient, service: PushService, pusher: Pusher
) -> None:
    scene.subscribe()
    first = scene.record(scene.assisted())
    fixed = scene.assisted(description="更正：协助检查两家餐饮店")
    r = scene.post(f"/api/tasks/{first['id']}/corrections", fixed)
    assert r.status_code == 201, r.text
    assert [scene.browser.decrypt(p)["task_id"] for p in service.received] == [first["id"], fixed["id"]]
    assert scene.browser.decrypt(service.received[1])["pending"] == 1  # the first version is superseded


def test_a_reassigned_record_tells_the_officer_now_named(
    scene: Scene, client: TestClient, db: Session, service: PushService, pusher: Pusher
) -> None:
    second_user, second = make_officer(db, scene.agency)
    task = scene.record(scene.assisted())  # the first officer has no browser: nothing sent
    second_browser = Browser(service.endpoint())
    scene.subscribe(login(client, second_user), second_browser)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=scene.agency))
    r = scene.post(f"/api/tasks/{task['id']}/reassign", {"officer_id": str(second.id)}, admin)
    assert r.status_code == 200, r.text
    assert len(service.received) == 1
    payload = second_browser.decrypt(service.received[0])
    assert (payload["task_id"], payload["pending"]) == (task["id"], 1)


def test_nothing_is_sent_for_an_officer_without_a_browser_nor_for_independent_work(
    scene: Scene, client: TestClient, service: PushService, pusher: Pusher
) -> None:
    scene.record(scene.assisted())
    scene.subscribe()
    scene.record(task_payload())  # independent: nobody waits
    _, other = make_officer(scene.db, scene.agency)
    scene.record(scene.assisted(officer=other))  # names an officer with no browser
    assert pusher.drain(10)
    assert service.received == []


def test_a_retry_of_a_stored_record_sends_nothing_again(
    scene: Scene, client: TestClient, service: PushService, pusher: Pusher
) -> None:
    scene.subscribe()
    body = scene.assisted()
    scene.record(body)
    assert scene.post("/api/tasks", body).status_code == 200
    assert len(service.received) == 1


def test_a_deactivated_officer_is_not_told(
    scene: Scene, client: TestClient, db: Session, service: PushService, pusher: Pusher
) -> None:
    scene.subscribe()
    task = scene.record(scene.assisted())
    assert pusher.drain(10) and len(service.received) == 1
    account = db.get(User, scene.officer_user.id)
    assert account is not None
    account.active = False  # switched off between the record's commit and its announcement
    db.flush()
    # In a thread of its own: a worker that also drove Playwright has an event loop set on this one.
    worker = threading.Thread(target=anyio.run, args=(pusher.announce, [uuid.UUID(task["id"])]))
    worker.start()
    worker.join(10)
    assert pusher.drain(10) and len(service.received) == 1


def test_a_record_whose_commit_fails_is_not_announced(
    scene: Scene, client: TestClient, connection: Connection, service: PushService, pusher: Pusher, db: Session
) -> None:
    scene.subscribe()
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    class CommitFails(Session):
        def commit(self) -> None:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    kept = ctx.sessions
    ctx.sessions = sessionmaker(bind=connection, class_=CommitFails, join_transaction_mode="create_savepoint",
                                expire_on_commit=False, info=leaf_info(ctx.leaf_key))
    try:
        body = scene.assisted()
        r = client.post("/api/tasks", json=body, headers=scene.aux_headers)
    finally:
        ctx.sessions = kept
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
    assert pusher.drain(10) and service.received == []
    assert db.scalar(select(func.count()).select_from(Task).where(Task.id == uuid.UUID(body["id"]))) == 0


def test_every_host_signs_with_one_vapid_key_kept_sealed(
    client: TestClient, connection: Connection, db: Session, data_dir: Path
) -> None:
    headers = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    first = client.get("/api/push/key", headers=headers).json()["public_key"]
    other = create_app(make_settings(data_dir), engine=connection.engine, migrate=False)
    other.state.ctx.sessions = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                            expire_on_commit=False, info=leaf_info(other.state.ctx.leaf_key))
    with TestClient(other) as second_host:
        assert second_host.get("/api/push/key", headers=headers).json()["public_key"] == first
    rows = db.scalars(select(SigningKey).where(SigningKey.purpose == "vapid")).all()
    assert len(rows) == 1 and b64url(rows[0].public_key) == first
    scalar = Sealer(TEST_SECRET).open_raw("vapid", rows[0].kid, rows[0].sealed)
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    assert key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint) == rows[0].public_key
    with pytest.raises(SealError):
        Sealer("another-secret-" + "y" * 40).open_raw("vapid", rows[0].kid, rows[0].sealed)

"""``/metrics``: Prometheus text for the addresses of ``AUXDUTY_METRICS_ALLOW`` only, requests counted by route
template (a badge token is never a label), the database slots and pool, and the photo decoder pool."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api.capacity import DatabaseSlots
from api.domain.models import AuxiliaryStatus, Credential
from api.observability import decoder_pool_state
from api.scan_alerts import ScanAlerts
from tests.conftest import app_on, make_settings
from tests.factories import make_agency, make_auxiliary
from tests.problems import assert_problem
from verification import decoder_pool

TOKEN = "eyJhbGciOiJFZERTQSJ9.c2VjcmV0LWJhZGdl.TOKENSIG"


def _app(connection: Connection, data_dir: Path, **settings: Any) -> Any:
    return app_on(connection, make_settings(data_dir, **settings))


@pytest.fixture
def scraper(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """A client on the same host, with metrics allowed to it; 10.0.0.0/8 holds the trusted proxies."""
    app = _app(connection, data_dir, metrics_allow="127.0.0.1,192.0.2.0/24", trusted_proxies="10.0.0.0/8")
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        yield c


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text)[(name, tuple(sorted(labels.items())))]


def test_metrics_are_not_served_unless_allowed(client: TestClient) -> None:
    assert_problem(client.get("/metrics"), 404, "not_found")


def test_metrics_count_requests_by_route_template_and_status_class(scraper: TestClient) -> None:
    for path in (f"/v/{TOKEN}", f"/api/public/verify/{TOKEN}", f"/api/public/verify/{TOKEN}",
                 "/api/public/badges/NJ-NO-SUCH", f"/{TOKEN}", "/static/docs/swagger-ui/swagger-ui.css"):
        scraper.get(path)
    r = scraper.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert TOKEN not in text and "NJ-NO-SUCH" not in text and "TOKENSIG" not in text
    requests = "auxduty_http_requests_total"
    assert _value(text, requests, method="GET", route="/api/public/verify/{token}", status="2xx") == 2
    assert _value(text, requests, method="GET", route="/v/{token}", status="2xx") == 1
    assert _value(text, requests, method="GET", route="/api/public/badges/{badge_no}", status="4xx") == 1
    assert _value(text, requests, method="GET", route="unmatched", status="4xx") == 1
    assert _value(text, requests, method="GET", route="/static/docs/{path}", status="2xx") == 1
    latency = "auxduty_http_request_duration_seconds_count"
    assert _value(text, latency, method="GET", route="/api/public/verify/{token}", status="2xx") == 2
    assert _value(text, "auxduty_db_slots") == 20
    assert _value(text, "auxduty_db_pool_size") >= 1
    assert _value(text, "auxduty_scan_alerts_waiting") == 0 and _value(text, "auxduty_scan_alerts_lost_total") == 0


def test_unknown_methods_are_one_label(scraper: TestClient) -> None:
    for method in ("BREW", "PROPFIND", "X" * 40):
        scraper.request(method, "/healthz")
    assert _value(scraper.get("/metrics").text, "auxduty_http_requests_total",
                  method="other", route="/healthz", status="4xx") == 3


@pytest.mark.parametrize(("peer", "forwarded"), [
    ("203.0.113.5", None),  # a stranger
    ("127.0.0.1", "203.0.113.5"),  # through a proxy on this host that nobody said to trust
    ("10.0.0.2", "127.0.0.1, 203.0.113.5"),  # through a trusted proxy: the client is 203.0.113.5
])
def test_metrics_are_refused_to_everyone_else(connection: Connection, data_dir: Path, peer: str,
                                              forwarded: str | None) -> None:
    app = _app(connection, data_dir, metrics_allow="127.0.0.1", trusted_proxies="10.0.0.0/8")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with TestClient(app, client=(peer, 50000)) as c:
        assert_problem(c.get("/metrics", headers=headers), 404, "not_found")


def test_a_scraper_behind_a_trusted_proxy_is_its_own_address(scraper: TestClient) -> None:
    r = scraper.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
    assert r.status_code == 404  # the peer 127.0.0.1 is no trusted proxy: a forwarded request is refused
    app: Any = scraper.app
    with TestClient(app, client=("10.0.0.2", 50000)) as via_proxy:
        assert via_proxy.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"}).status_code == 200


def test_the_slot_queue_is_seen_while_a_crowd_waits(scraper: TestClient) -> None:
    app: Any = scraper.app
    app.state.ctx.db_slots = DatabaseSlots(0, 1.5)
    waiting = [threading.Thread(target=scraper.get, args=("/api/public/badges/NJ0",)) for _ in range(3)]
    for t in waiting:
        t.start()
    try:
        time.sleep(0.3)
        text = scraper.get("/metrics").text
        assert _value(text, "auxduty_db_slots_waiting") == 3
        assert _value(text, "auxduty_http_requests_in_progress") == 4  # three waiting, and this scrape
    finally:
        for t in waiting:
            t.join(10)
    assert _value(scraper.get("/metrics").text, "auxduty_http_requests_total", method="GET",
                  route="/api/public/badges/{badge_no}", status="5xx") == 3


def test_decoder_figures_tolerate_a_pool_not_started_or_not_as_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoder_pool, "_pool", None)
    assert decoder_pool_state() is None
    monkeypatch.setattr(decoder_pool, "_pool", object())
    assert decoder_pool_state() is None
    monkeypatch.setattr(decoder_pool, "_pool", decoder_pool.DecoderPool(2))  # made, no worker started
    assert decoder_pool_state() == {"size": 2, "live": 0, "busy": 0, "waiting": 0, "photos": 0, "lost": 0}


def test_decoder_figures_are_scraped_when_the_pool_exists(scraper: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoder_pool, "_pool", decoder_pool.DecoderPool(3))
    text = scraper.get("/metrics").text
    assert _value(text, "auxduty_decoder_workers_max") == 3
    assert _value(text, "auxduty_decoder_busy") == 0
    assert _value(text, "auxduty_decoder_photos_total") == 0


def test_remembered_badge_answers_are_counted(scraper: TestClient) -> None:
    ctx = scraper.app.state.ctx  # type: ignore[attr-defined]
    ctx.badge_cache.put("t", ctx.badge_cache.ticket(), ["a:1"], "answer")
    assert ctx.badge_cache.get("t") == "answer" and ctx.badge_cache.get("other") is None
    ctx.badge_cache.invalidate(["a:1"])
    text = scraper.get("/metrics").text
    counts = {o: _value(text, "auxduty_badge_answers_total", outcome=o) for o in ("hit", "absent", "stored",
                                                                                   "forgotten")}
    assert counts == {"hit": 1, "absent": 1, "stored": 1, "forgotten": 1}


def test_the_time_to_answer_leaves_out_the_dead_scans_alert_kept_after_it(
    scraper: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead badge's scan is answered, then kept as an alert (api/scan_alerts.py): the request's figure (and
    log line) is the time to the answer's last byte, what the citizen waited, not the alert's write after it."""
    _, aux = make_auxiliary(db, make_agency(db), status=AuxiliaryStatus.SUSPENDED)
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = scraper.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=cred.version)  # type: ignore[attr-defined]
    keep = ScanAlerts._write_now

    def slow_write(alerts: ScanAlerts, batch: list[Any]) -> int:
        time.sleep(0.5)
        return keep(alerts, batch)

    monkeypatch.setattr(ScanAlerts, "_write_now", slow_write)
    began = time.monotonic()
    for _ in range(2):  # read from the database and answered by the route, then answered from memory
        assert scraper.get(f"/api/public/verify/{token}").json()["status"] == "suspended"
    assert time.monotonic() - began >= 2 * 0.5  # the test client waits for what runs after the answer too
    text = scraper.get("/metrics").text
    route = {"method": "GET", "route": "/api/public/verify/{token}", "status": "2xx"}
    assert _value(text, "auxduty_http_request_duration_seconds_count", **route) == 2
    assert _value(text, "auxduty_http_request_duration_seconds_sum", **route) < 0.5
    assert _value(text, "auxduty_scan_alerts_kept_total") == 2

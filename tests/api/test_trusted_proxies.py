"""``AUXDUTY_TRUSTED_PROXIES``: the client is the right-most ``X-Forwarded-For`` address that is not a trusted
proxy; without trusted proxies ``X-Forwarded-For`` is ignored, so no client can choose its rate-limit identity."""

from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Connection

from api.deps import client_address
from api.settings import Settings
from tests.conftest import app_on, make_settings
from tests.problems import assert_problem

PROXIES = (ip_network("10.0.0.0/8"), ip_network("2001:db8:1::/48"))
VERIFY = "/api/public/verify/not-a-token"
LIMIT = 6  # 120 a minute * rate_limit_scale 0.05


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),  # an untrusted peer's X-Forwarded-For is its own writing
    ("10.0.0.2", [], "10.0.0.2"),  # the proxy itself, asking for nobody
    ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),  # the left part is the client's own
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7, 10.0.0.3"], "198.51.100.7"),  # two proxies
    ("10.0.0.2", ["203.0.113.9", "198.51.100.7"], "198.51.100.7"),  # two header lines are one list
    ("10.0.0.2", ["10.0.0.5, 10.0.0.3"], "10.0.0.5"),  # every hop a proxy: the one nearest the client
    ("10.0.0.2", ["unknown, 198.51.100.7, garbage"], "198.51.100.7"),
    ("10.0.0.2", ["198.51.100.7:4711"], "198.51.100.7"),
    ("10.0.0.2", ["[2001:db8:2::7]:443"], "2001:db8:2::7"),
    ("10.0.0.2", ["::ffff:198.51.100.7"], "198.51.100.7"),
    ("2001:db8:1::9", ["198.51.100.7"], "198.51.100.7"),
    ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # an IPv4 proxy seen on a dual-stack socket
    ("10.0.0.2", [",, ,"], "10.0.0.2"),
    ("testclient", ["198.51.100.7"], "testclient"),
    (None, ["198.51.100.7"], "unknown"),
])
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_x_forwarded_for_is_ignored() -> None:
    assert client_address("10.0.0.2", ["198.51.100.7"], ()) == "10.0.0.2"


def test_trusted_proxies_are_read_comma_separated_and_a_bad_one_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUXDUTY_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,::1")
    assert Settings().trusted_proxies == (ip_network("10.0.0.1/32"), ip_network("192.168.0.0/16"),
                                          ip_network("::1/128"))
    monkeypatch.setenv("AUXDUTY_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == ()
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.300")


def _client(connection: Connection, data_dir: Path, peer: str, **settings: Any) -> TestClient:
    app = app_on(connection, make_settings(data_dir, rate_limit_scale=0.05, **settings))
    return TestClient(app, client=(peer, 50000))


@pytest.fixture
def direct(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """A client on the open internet, no proxy in between, none trusted."""
    with _client(connection, data_dir, "198.51.100.7") as c:
        yield c


@pytest.fixture
def proxied(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """Requests arriving from a trusted proxy (10.0.0.2) that appends whom it heard from."""
    with _client(connection, data_dir, "10.0.0.2", trusted_proxies="10.0.0.0/8") as c:
        yield c


def test_a_client_writing_its_own_x_forwarded_for_stays_the_same_client(direct: TestClient) -> None:
    answers = [direct.get(VERIFY, headers={"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(LIMIT + 1)]
    assert [r.status_code for r in answers[:LIMIT]] == [200] * LIMIT
    assert_problem(answers[LIMIT], 429, "rate_limited")


def test_through_a_trusted_proxy_the_client_cannot_prepend_another_identity(proxied: TestClient) -> None:
    answers = [proxied.get(VERIFY, headers={"X-Forwarded-For": f"203.0.113.{i}, 198.51.100.7"})
               for i in range(LIMIT + 1)]
    assert [r.status_code for r in answers[:LIMIT]] == [200] * LIMIT
    assert_problem(answers[LIMIT], 429, "rate_limited")
    # Another citizen behind the same proxy is counted apart.
    assert proxied.get(VERIFY, headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 200


def test_behind_two_trusted_proxies_the_right_most_untrusted_address_is_counted(proxied: TestClient) -> None:
    for _ in range(LIMIT):
        assert proxied.get(VERIFY, headers={"X-Forwarded-For": "198.51.100.9, 10.1.2.3"}).status_code == 200
    assert_problem(proxied.get(VERIFY, headers={"X-Forwarded-For": "198.51.100.9"}), 429, "rate_limited")


@pytest.mark.parametrize("forwarded", [
    "unknown", "", ",,,", "300.1.2.3", "[::1", "1.2.3.4:port", "::ffff:", "a" * 4000, "198.51.100.7, \u00e9t\u00e9",
    ", ".join(["198.51.100.7"] * 500),
])
def test_malformed_x_forwarded_for_is_ignored_without_a_500(proxied: TestClient, forwarded: str) -> None:
    r = proxied.get(VERIFY, headers={b"X-Forwarded-For": forwarded.encode()})
    assert r.status_code == 200, r.text

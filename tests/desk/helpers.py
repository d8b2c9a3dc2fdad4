"""Driving the desk as a browser would, without one: its forms' CSRF tokens read off the pages, logins made
through the login form."""

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from api.domain.models import User
from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def try_login(client: TestClient, username: str, password: str = PASSWORD, **extra: Any) -> Response:
    page = client.get("/desk/login")
    assert page.status_code == 200, page.text
    data = {"username": username, "password": password, "csrf_token": form_token(page.text), "next": "/desk/"}
    return client.post("/desk/login", data={**data, **extra}, follow_redirects=False)


def desk_login(client: TestClient, user: User, password: str = PASSWORD) -> str:
    """Log ``user`` in to the desk; the CSRF token of their forms."""
    r = try_login(client, user.username, password)
    assert r.status_code == 303, r.text
    home = client.get("/desk/")
    assert home.status_code == 200, home.text
    return form_token(home.text)


def post(client: TestClient, path: str, token: str, **data: Any) -> Response:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)

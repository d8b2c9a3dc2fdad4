"""The one check of a refusal: RFC 9457 problem+json with the stable ``code`` (and ``article``) of api/errors.py,
and, for tests of the rules without HTTP, the DomainError that becomes it."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from httpx2 import Response

from api.domain.errors import DomainError

PROBLEM = "application/problem+json"


def assert_problem(response: Response, status: int, code: str, article: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is a ``status`` problem+json with ``code`` (and ``article`` when given) and a
    non-empty ``detail``; return the body for any further checks."""
    assert response.status_code == status, response.text
    assert response.headers.get("content-type", "").startswith(PROBLEM), response.headers.get("content-type")
    body: dict[str, Any] = response.json()
    assert body.get("code") == code, body
    assert body.get("status") == status, body
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), body
    if article is not None:
        assert body.get("article") == article, body
    return body


@contextmanager
def refused(
    code: str, article: str | None, *, status: int | None = None
) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """Expect the block to raise a DomainError with ``code`` and exactly ``article`` (None: it cites none),
    and ``status`` when given; the caught error is in the yielded ExceptionInfo for further checks."""
    with pytest.raises(DomainError) as caught:
        yield caught
    error = caught.value
    assert (error.code, error.article) == (code, article), (error.code, error.article, error.detail_en)
    assert error.detail_zh and error.detail_en
    if status is not None:
        assert error.status == status, error.status

"""A client generated from the app's own /openapi.json by openapi-python-client generates without a warning,
and works: an auxiliary logs in with it and lists their tasks on a real server."""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, login, make_agency, make_auxiliary, task_payload
from tests.live import serve

PACKAGE = "auxduty_client"
# The images and the badge PDF are bytes to a client, the SVG chart text: openapi-python-client types only JSON,
# text/* and application/octet-stream, and is told so here (the document keeps the true media types).
CONFIG = """\
post_hooks: []
content_type_overrides:
  image/jpeg: application/octet-stream
  image/png: application/octet-stream
  application/pdf: application/octet-stream
  image/svg+xml: text/plain
"""


def _document(data_dir: Path) -> dict[str, object]:
    app = create_app(make_settings(data_dir), migrate=False)
    try:
        document: dict[str, object] = TestClient(app).get("/openapi.json").json()
    finally:
        app.state.ctx.engine.dispose()
    return document


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    tmp = tmp_path_factory.mktemp("openapi-client")
    (tmp / "openapi.json").write_text(json.dumps(_document(tmp / "data")), encoding="utf-8")
    (tmp / "config.yaml").write_text(CONFIG, encoding="utf-8")
    tool = Path(sys.executable).parent / "openapi-python-client"
    run = subprocess.run(
        [str(tool), "generate", "--path", str(tmp / "openapi.json"), "--output-path", str(tmp / PACKAGE),
         "--meta", "none", "--config", str(tmp / "config.yaml"), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_the_document_does_not_depend_on_settings_or_backend(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/openapi.json").json() == _document(tmp_path)


@pytest.mark.slow
def test_generated_client_logs_in_as_an_auxiliary_and_lists_tasks(
    generated: ModuleType, client: TestClient, db: Session
) -> None:
    issue_token = importlib.import_module(f"{PACKAGE}.api.auth.issue_token")
    list_tasks = importlib.import_module(f"{PACKAGE}.api.fieldwork.list_tasks")
    body_model = importlib.import_module(f"{PACKAGE}.models").BodyIssueToken
    problem_model = importlib.import_module(f"{PACKAGE}.models").Problem
    user, _ = make_auxiliary(db, make_agency(db))
    db.flush()
    task = task_payload()
    assert client.post("/api/tasks", json=task, headers=login(client, user)).status_code == 201

    with serve(client.app) as base, generated.Client(base_url=base) as anonymous:  # type: ignore[arg-type]
        refused = issue_token.sync(client=anonymous, body=body_model(username=user.username, password="wrong"))
        assert isinstance(refused, problem_model)
        assert (refused.status, refused.code) == (401, "invalid_credentials")

        unauthenticated = list_tasks.sync_detailed(client=anonymous)
        assert unauthenticated.status_code == 401
        assert unauthenticated.parsed.code == "unauthenticated"

        pair = issue_token.sync(client=anonymous, body=body_model(username=user.username, password=PASSWORD))
        assert pair.token_type == "bearer" and pair.access_token
        with generated.AuthenticatedClient(base_url=base, token=pair.access_token) as authed:
            page = list_tasks.sync(client=authed, limit=10)
        assert [str(t.id) for t in page.items] == [task["id"]]
        assert str(getattr(page.items[0].category, "value", page.items[0].category)) == "patrol"

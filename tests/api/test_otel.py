"""FastAPI's own OpenTelemetry is off unless ``AUXDUTY_OTEL`` turns it on: the service's figures are at /metrics,
and looking on every request for a provider nobody set up costs a remembered badge check some of its CPU."""

from pathlib import Path

import pytest
from fastapi.telemetry import _asgi

from api.main import create_app
from tests.conftest import make_settings


@pytest.mark.parametrize("otel", [False, True])
def test_fastapis_request_telemetry_runs_only_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             otel: bool) -> None:
    monkeypatch.setattr(_asgi, "_unconfigured", lambda _provider: False)  # as if the process set providers up
    app = create_app(make_settings(tmp_path, otel=otel), migrate=False)
    assert app._native_telemetry.enabled() is otel

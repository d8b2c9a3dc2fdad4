"""``auxduty serve`` warms the photo decoders unless AUXDUTY_DECODER_PREWARM says not to; ``auxduty migrate``
works on a fresh machine, where the data dir does not exist yet (the README's first command)."""

import argparse
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

import api.main
from api import cli
from api.settings import Settings, get_settings


@pytest.mark.parametrize(("env", "expected"), [(None, True), ("0", False), ("1", True)])
def test_serve_prewarms_the_decoders_unless_told_not_to(
        monkeypatch: pytest.MonkeyPatch, env: str | None, expected: bool) -> None:
    if env is None:
        monkeypatch.delenv("AUXDUTY_DECODER_PREWARM", raising=False)
    else:
        monkeypatch.setenv("AUXDUTY_DECODER_PREWARM", env)
    get_settings.cache_clear()
    served: list[Settings] = []
    def create_app(settings: Settings) -> FastAPI:
        served.append(settings)
        return FastAPI()

    monkeypatch.setattr(api.main, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    try:
        assert cli._cmd_serve(argparse.Namespace(demo=False, host=None, port=None)) == 0
    finally:
        get_settings.cache_clear()
    assert [s.decoder_prewarm for s in served] == [expected]


def test_serve_has_uvicorn_make_no_access_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service writes its own request line; uvicorn's would carry the raw path (a badge's token) and cost a
    log record per request even when a filter drops it."""
    monkeypatch.setattr(api.main, "create_app", lambda settings: FastAPI())
    run: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: run.append(k))
    get_settings.cache_clear()
    try:
        assert cli._cmd_serve(argparse.Namespace(demo=False, host=None, port=None)) == 0
    finally:
        get_settings.cache_clear()
    assert run and run[0]["access_log"] is False and run[0]["proxy_headers"] is False


def test_migrate_makes_the_data_dir_of_a_fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("AUXDUTY_DATA_DIR", str(data_dir))
    monkeypatch.delenv("AUXDUTY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
    finally:
        get_settings.cache_clear()
    assert (data_dir / "auxduty.db").is_file()

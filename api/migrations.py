"""Bring a database to the newest schema with Alembic (never ``create_all``)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_LOCATION = ROOT / "alembic"


def alembic_config(url: str | None = None) -> Config:
    if not SCRIPT_LOCATION.is_dir():
        raise RuntimeError(
            f"migrations not found at {SCRIPT_LOCATION}: install auxduty from its source tree (pip install -e .)"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Run every pending migration on ``engine`` in one transaction."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

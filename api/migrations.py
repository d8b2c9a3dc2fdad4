"""Bring a database to the newest schema with Alembic (never ``create_all``)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from api.settings import Settings

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


MIGRATION_LOCK = 4242003
"""PostgreSQL advisory lock held while migrating: hosts started together take turns; the second finds the
schema at head and does nothing."""


def upgrade_to_head(engine: Engine) -> None:
    """Run every pending migration on ``engine`` in one transaction, under the migration lock on PostgreSQL
    (several hosts share only PostgreSQL; SQLite is one host's)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# What the service's own database role may do (第十条(三)): records of enforcement work and the log are only
# ever added to; tables whose rows move (a task's status, a complaint's handling) may be updated, never
# emptied. Nothing is deleted but the integrator's queue and the push subscriptions, which are no records. No
# TRUNCATE anywhere, and not being the owner, the role cannot drop or disable the triggers either.
INSERT_ONLY = ("cosignatures", "evidence", "shift_events", "complaint_events", "case_notices", "complaint_photos",
               "log_leaves", "log_nodes", "log_checkpoints", "log_rejected", "rectification_events",
               "task_reassignments",
               # A person's standing (0007): what an agency decided about someone is never rewritten.
               "assessments", "contracts", "commendations", "sanctions",
               # Reads of personal data (0011, 第十条(一)): who read whom is never rewritten.
               "personal_data_reads")
DELETABLE = ("log_pending",)
# Not records at all: a user's push subscriptions (0014) are updated as their browsers register again, and
# deleted when a browser or its push service lets go of them.
SETTINGS_TABLES = ("push_subscriptions",)
READ_ONLY_TABLES = ("alembic_version", "log_legacy")


def grant_service_role(engine: Engine, role: str) -> list[str]:
    """Give ``role`` exactly the rights the service needs on every table (PostgreSQL; run as the owner).
    Idempotent: revokes first. Returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise RuntimeError("database roles are a PostgreSQL matter; SQLite refuses by trigger alone")
    quoted = engine.dialect.identifier_preparer.quote(role)
    with engine.begin() as conn:
        # Hosts started together grant at once too: REVOKE/GRANT on one table from two sessions fails
        # ("tuple concurrently updated"), so they take turns under the migrations' lock.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        tables = [row[0] for row in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
        statements = [f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
                      f"GRANT USAGE ON SCHEMA public TO {quoted}"]
        for table in sorted(tables):
            if table in READ_ONLY_TABLES:
                rights = "SELECT"
            elif table in INSERT_ONLY:
                rights = "SELECT, INSERT"
            elif table in DELETABLE:
                rights = "SELECT, INSERT, DELETE"
            elif table in SETTINGS_TABLES:
                rights = "SELECT, INSERT, UPDATE, DELETE"
            else:
                rights = "SELECT, INSERT, UPDATE"
            statements.append(f'GRANT {rights} ON "{table}" TO {quoted}')
        statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        for statement in statements:
            conn.execute(text(statement))
    return statements


def migrate(settings: Settings) -> str:
    """Upgrade with the owner's URL (``AUXDUTY_MIGRATION_DATABASE_URL``, else the service's), then give the
    service role its rights when ``AUXDUTY_DB_SERVICE_ROLE`` names one. The URL, password hidden."""
    from api.db import make_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite database lives there
    engine = make_engine(settings.migration_database_url or settings.resolved_database_url)
    try:
        upgrade_to_head(engine)
        if settings.db_service_role:
            grant_service_role(engine, settings.db_service_role)
        return engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()

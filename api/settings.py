"""Runtime settings, read once from ``AUXDUTY_*`` environment variables (and an optional ``.env``)."""

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUXDUTY_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, description="sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )
    # The owner role's URL, for migrations only (PostgreSQL): the service itself then connects as a role that
    # may not update, delete or truncate records (``auxduty db grant``); default: the same URL.
    migration_database_url: str | None = Field(default=None, repr=False)
    # The service's own role, granted its rights after every migration when set.
    db_service_role: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # HS256 secret for access tokens; made and kept in the data dir when not given.
    secret_key: str | None = None
    access_token_minutes: int = Field(default=15, ge=5, le=30)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    # Argon2id cost. Tests lower it; production keeps the library's recommended profile.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    evidence_max_bytes: int = 50 * 1024 * 1024
    photo_max_bytes: int = 5 * 1024 * 1024
    redis_url: str | None = None
    # Connections per worker: the pool holds pool_size + pool_overflow, and as many requests may hold a
    # session at once; the rest wait up to db_queue_seconds, then answer 503 with Retry-After.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_overflow: int = Field(default=10, ge=0, le=200)
    db_queue_seconds: float = Field(default=10.0, gt=0, le=120)
    # Badge signing keys from a secret store instead of the data dir (see verification/tokens.py).
    badge_keys: str | None = Field(default=None, repr=False)
    # Multiplies every public rate limit (tests raise it; a busy kiosk network may too).
    rate_limit_scale: float = Field(default=1.0, gt=0)
    # Behind a reverse proxy, the client is the first X-Forwarded-For address.
    trust_forwarded_for: bool = False
    # The transparency log: a checkpoint at least this often while there are new leaves (0: only on demand).
    checkpoint_seconds: float = Field(default=10.0, ge=0)
    # How often waiting leaves are given their place in the tree (0: only on demand).
    integrate_seconds: float = Field(default=1.0, ge=0)
    # Line 1 of every checkpoint, and the name of its key; default: the public host + "/log".
    log_origin: str | None = None
    # Where published checkpoints are kept outside the database; default: log/ under the data dir.
    log_dir: Path | None = None
    # The checkpoint signing key from a secret store (base64 of a 32-byte Ed25519 seed), shared by all hosts.
    log_key: str | None = Field(default=None, repr=False)
    demo: bool = False
    # Start the photo-decoding workers with the service, so the first citizen's photo does not wait for them.
    decoder_prewarm: bool = False
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def db_slots(self) -> int:
        return self.db_pool_size + self.db_pool_overflow

    @property
    def resolved_log_origin(self) -> str:
        if self.log_origin:
            return self.log_origin
        host = urlsplit(self.public_base_url).netloc or "auxduty"
        return f"{host}/log"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'auxduty.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Runtime settings, read once from ``AUXDUTY_*`` environment variables (and an optional ``.env``)."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Addresses and CIDR networks, comma-separated in the environment ("10.0.0.1, 192.168.0.0/16").
Networks = Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode]
# Host names or addresses, comma-separated in the environment ("127.0.0.1, push.internal").
Hosts = Annotated[tuple[str, ...], NoDecode]


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
    # What the printed badge's QR carries: the compact form (docs/compact-qr.md, a version 7-8 QR) or the JWS URL.
    badge_qr: Literal["compact", "jws"] = "compact"
    # HS256 secret for access tokens; made and kept in the data dir when not given.
    secret_key: str | None = None
    access_token_minutes: int = Field(default=15, ge=5, le=30)
    # Password hashes at once per worker (each Argon2id hash takes argon2_memory_kib); more logins wait up to
    # login_queue_seconds, then answer 503 with Retry-After.
    login_hash_slots: int = Field(default=4, ge=1, le=64)
    # Wrong passwords within 15 minutes that lock a username, and a client (API.md, "Accounts").
    login_failures_per_username: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=20, ge=1)
    login_queue_seconds: float = Field(default=5.0, gt=0, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    # A login of the desk (/desk/, the admins' browser pages) lasts this long, then asks for the password again.
    desk_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    # Argon2id cost. Tests lower it; production keeps the library's recommended profile.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    evidence_max_bytes: int = 50 * 1024 * 1024
    # Where evidence files are kept (api/storage.py): file:///PATH, default evidence/ under the data dir, or
    # s3://BUCKET/PREFIX on any S3-compatible store, shared by every host of the service.
    storage_url: str | None = Field(default=None, pattern=r"^(file:///|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/|$))")
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = Field(default=None, repr=False)
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    s3_region: str = "us-east-1"
    # path (http://host/bucket/key) or virtual (http://bucket.host/key); default path with an endpoint URL.
    s3_addressing_style: Literal["auto", "path", "virtual"] | None = None
    # A store that does not answer in this long is unavailable: 503 with Retry-After, never a hung request.
    storage_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    photo_max_bytes: int = 5 * 1024 * 1024
    redis_url: str | None = None
    # Connections per worker: the pool holds pool_size + pool_overflow, and as many requests may hold a
    # session at once; the rest wait up to db_queue_seconds, then answer 503 with Retry-After.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_overflow: int = Field(default=10, ge=0, le=200)
    db_queue_seconds: float = Field(default=10.0, gt=0, le=120)
    # Batches of new task records stored at once on the short path (api/routes/new_tasks.py); the records that
    # arrive meanwhile wait in the event loop and go together in the next batch. A write is mostly Python on a
    # thread, holding the interpreter lock while it is not waiting for the database: more threads at once only
    # contend for that lock, and one batch of many costs less than many of one.
    task_writers: int = Field(default=1, ge=1, le=64)
    # Badge signing keys from a secret store instead of the data dir (see verification/tokens.py).
    badge_keys: str | None = Field(default=None, repr=False)
    # Where badge and checkpoint keys live (api/keystore.py): "database" (sealed with the secret key, shared by
    # every host), "files" (this host's data dir), "auto": the database on PostgreSQL, files on SQLite.
    key_store: Literal["auto", "database", "files"] = "auto"
    # Remembered badge answers are forgotten when what they read changes (api/badge_cache.py), and after this
    # long in any case: the bound on a change whose message was lost.
    badge_cache_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Multiplies every public rate limit (tests raise it; a busy kiosk network may too).
    rate_limit_scale: float = Field(default=1.0, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed: the client is the right-most address in it that is
    # not one of them. None: X-Forwarded-For is ignored (api/deps.py client_address).
    trusted_proxies: Networks = ()
    # Who may read /metrics (the client as trusted_proxies resolve it); none: /metrics answers 404.
    metrics_allow: Networks = ()
    # FastAPI's own OpenTelemetry for each request (spans, metrics, logs to the providers the process sets up,
    # e.g. with OTEL_* variables). Off by default: the service's figures are at /metrics, and looking on each
    # request for a provider nobody set up took 2.7 us, about 3% of a remembered badge check's CPU.
    otel: bool = False
    # One JSON object a line, or lines for a person; auto: console on a terminal, JSON otherwise.
    log_format: Literal["auto", "json", "console"] = "auto"
    # The transparency log: a checkpoint at least this often while there are new leaves (0: only on demand).
    checkpoint_seconds: float = Field(default=10.0, ge=0)
    # How often waiting leaves are given their place in the tree (0: only on demand).
    integrate_seconds: float = Field(default=1.0, ge=0)
    # A complainant's phone number is erased this many days after the complaint is resolved or dismissed
    # (第十条(一); api/domain/privacy/phones.py); the running service looks for such numbers this often (0: never,
    # leaving it to `auxduty privacy erase-phones`).
    complainant_phone_days: int = Field(default=180, ge=1, le=3650)
    privacy_sweep_seconds: float = Field(default=3600.0, ge=0)
    # Line 1 of every checkpoint, and the name of its key; default: the public host + "/log".
    log_origin: str | None = None
    # Where published checkpoints are kept outside the database; default: log/ under the data dir.
    log_dir: Path | None = None
    # The checkpoint signing key from a secret store (base64 of a 32-byte Ed25519 seed), shared by all hosts.
    log_key: str | None = Field(default=None, repr=False)
    # Field work (issue 9): how far ahead of the server's clock a phone's time may be, and how old a record may
    # be when it arrives (work older than that, or before the hire, is refused: time_too_old).
    field_max_future_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    field_max_age_days: float = Field(default=30.0, gt=0, le=3660)
    # A co-signing officer farther than this from the task's position is flagged far_from_task (never refused).
    cosign_far_metres: float = Field(default=500.0, gt=0)
    # Web Push to officers' phones (api/push.py): the VAPID ``sub`` the push services may write to (RFC 8292),
    # default "mailto:webpush@" + the public host; hosts a subscription's endpoint may name although private or
    # loopback, and over http too (a push service of your own network; tests); how long one send may take.
    push_subject: str | None = Field(default=None, pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$")
    push_allowed_hosts: Hosts = ()
    push_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    # The citizen pages' trust signals: who runs the service (the issuing authority line), and the footer's
    # 政府网站标识码 and ICP备案号, each shown only when set.
    issuer_name: str = Field(default="南京市司法局", min_length=1, max_length=60)
    site_code: str | None = Field(default=None, max_length=40)
    icp_number: str | None = Field(default=None, max_length=60)
    demo: bool = False
    # `auxduty serve` writes each connection's output once per turn of the event loop (api/http_protocol.py);
    # false: uvicorn's own protocol, which writes a response's headers and body apart.
    http_one_write: bool = True
    # Start the photo-decoding workers with the service, so the first citizen's photo does not wait for them
    # (`auxduty serve` does unless AUXDUTY_DECODER_PREWARM=0).
    decoder_prewarm: bool = False
    # Photo-decoding worker processes; each is replaced after decoder_max_images photos, or sooner when its
    # resident memory after a photo is above decoder_max_rss_mib (the photo's answer is never lost).
    decoder_workers: int = Field(default=2, ge=1, le=32)
    decoder_max_images: int = Field(default=200, ge=1)
    decoder_max_rss_mib: int = Field(default=256, ge=128)
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple):
            return tuple(ip_network(i.strip(), strict=False) if isinstance(i, str) else i
                         for i in items if not isinstance(i, str) or i.strip())
        return value

    @field_validator("push_allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple):
            return tuple(str(i).strip().strip("[]").lower() for i in items if str(i).strip())
        return value

    @property
    def resolved_push_subject(self) -> str:
        return self.push_subject or f"mailto:webpush@{urlsplit(self.public_base_url).hostname or 'localhost'}"

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

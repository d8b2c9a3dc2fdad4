"""What one running service holds: settings, the database, the signing keys."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from api.badge_cache import BadgeCache, RedisBus, journal_for
from api.capacity import Batches, DatabaseSlots
from api.db import make_engine, make_sessionmaker, read_connection
from api.domain.audit.checkpoints import CheckpointStore, LogKeys, TransparencyLog
from api.domain.audit.log import derive_leaf_key
from api.domain.fieldwork.context import TimeLimits
from api.domain.organisation.accounts import HashCost
from api.domain.staff.identity import derive_id_key
from api.domain.storage import BlobStore
from api.keystore import DatabaseKeyStore, DatabaseLogKeys, Sealer, VapidKeys
from api.lockout import LoginGuard, LoginLimits, make_login_guard
from api.push import Pusher
from api.ratelimit import Limiter, make_limiter
from api.scan_alerts import ScanAlerts
from api.security import load_or_create_secret
from api.settings import Settings
from api.storage import open_store
from verification.tokens import FileKeyStore, KeyRing


class ConfigurationError(RuntimeError):
    """The settings cannot make a working service (said at start, before serving anything)."""


def _keys(settings: Settings, engine: Engine, secret: str, *,
          shared: bool) -> tuple[KeyRing, LogKeys, Engine | None]:
    """Badge and checkpoint keys: fixed by the environment, else in the database that every host shares (keys
    this host kept in its data dir are carried over), else in the data dir."""
    badge_dir, log_dir = settings.data_dir / "keys", settings.data_dir / "log-keys"
    origin = settings.resolved_log_origin
    local_log = LogKeys(log_dir, origin, fixed_seed=settings.log_key)
    if not shared:
        return KeyRing(badge_dir, fixed_keys=settings.badge_keys), local_log, None
    sealer = Sealer(secret)
    # A pool of its own: a request that holds its connection and signs a badge must never wait for a second
    # connection from the pool that every request draws on (the starvation the crowd tests catch).
    engine = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=2)
    if settings.badge_keys and settings.log_key:
        engine.dispose()
        return KeyRing(badge_dir, fixed_keys=settings.badge_keys), local_log, None
    ring = KeyRing(badge_dir, fixed_keys=settings.badge_keys) if settings.badge_keys else KeyRing(
        badge_dir, store=DatabaseKeyStore(engine, sealer, carry_over=FileKeyStore(badge_dir)))
    log_keys = local_log if settings.log_key else DatabaseLogKeys(engine, sealer, origin, carry_over=local_log)
    return ring, log_keys, engine


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: KeyRing
    key_engine: Engine | None
    """The signing keys' own small pool, where they live in the database."""
    access_secret: str
    leaf_key: bytes
    id_key: bytes
    """Keys the hash an id number is matched by (staff/identity.py): from the secret, so the same on every host."""
    limiter: Limiter
    login_guard: LoginGuard
    hash_slots: threading.BoundedSemaphore
    badge_cache: BadgeCache[Any]
    badge_bus: RedisBus | None
    """Carries badge changes to and from every other host, where Redis is configured (started by the app)."""
    db_slots: DatabaseSlots
    log: TransparencyLog
    storage: BlobStore

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None = None) -> "AppContext":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size,
                                       max_overflow=settings.db_pool_overflow)
        postgres = engine.dialect.name == "postgresql"
        if postgres and not settings.secret_key:
            raise ConfigurationError(
                "AUXDUTY_SECRET_KEY is not set: on PostgreSQL every host of the service must be given the same "
                "secret (it signs logins and seals the shared signing keys), or a login on one host fails on "
                "another. Make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        secret = load_or_create_secret(settings.data_dir, settings.secret_key)
        leaf_key = derive_leaf_key(secret)
        keyring, log_keys, key_engine = _keys(settings, engine, secret, shared=settings.key_store == "database" or (
            settings.key_store == "auto" and postgres))
        # With Redis, changes reach every host by pub/sub, each forgetting only what it touched; without it,
        # one host's workers share a stamp file that forgets everything.
        badge_cache: BadgeCache[Any] = BadgeCache(None if settings.redis_url else journal_for(settings.data_dir),
                                                  ttl=settings.badge_cache_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine, leaf_key),
            keyring=keyring,
            key_engine=key_engine,
            access_secret=secret,
            leaf_key=leaf_key,
            id_key=derive_id_key(secret),
            limiter=make_limiter(settings.redis_url, settings.rate_limit_scale),
            login_guard=make_login_guard(settings.redis_url, secret, LoginLimits(
                settings.login_failures_per_username, settings.login_failures_per_client)),
            hash_slots=threading.BoundedSemaphore(settings.login_hash_slots),
            badge_cache=badge_cache,
            badge_bus=RedisBus(settings.redis_url, badge_cache) if settings.redis_url else None,
            db_slots=DatabaseSlots(settings.db_slots, settings.db_queue_seconds),
            log=TransparencyLog(
                origin=settings.resolved_log_origin,
                keys=log_keys,
                store=CheckpointStore(settings.log_dir or settings.data_dir / "log"),
            ),
            storage=open_store(settings),
        )

    @cached_property
    def hash_cost(self) -> HashCost:
        return HashCost(self.settings.argon2_time_cost, self.settings.argon2_memory_kib)

    @cached_property
    def field_limits(self) -> TimeLimits:
        return TimeLimits(max_future=timedelta(minutes=self.settings.field_max_future_minutes),
                          max_age=timedelta(days=self.settings.field_max_age_days))

    @cached_property
    def vapid(self) -> VapidKeys:
        """The key that signs Web Push messages: in the database on SQLite too (api/keystore.py)."""
        return VapidKeys(Sealer(self.access_secret))

    @cached_property
    def push(self) -> Pusher:
        """Sends Web Push messages off the request path (api/push.py); closed with the app."""
        return Pusher(self)

    @property
    def sessions_bind(self) -> Engine | Connection:
        """Where the sessions come from: their engine, or the one connection they are bound to (a test's
        transaction)."""
        bind: Engine | Connection = self.sessions.kw.get("bind", self.engine)
        return bind

    @contextmanager
    def reads(self) -> Iterator[Connection]:
        """A bare connection for a read that needs no session (``api.db.read_connection``), from where the
        sessions come from (``sessions_bind``)."""
        bind = self.sessions_bind
        if isinstance(bind, Connection):
            yield bind
            return
        with read_connection(bind) as conn:
            yield conn

    @cached_property
    def task_batches(self) -> Batches[Any, Any]:
        """New task records stored a batch at a time on the short path (api/routes/new_tasks.py), each batch in a
        database slot: ``task_writers`` batches at once, by default 1."""
        return Batches(min(self.settings.task_writers, self.settings.db_slots), self.settings.db_queue_seconds)

    @cached_property
    def scan_alerts(self) -> ScanAlerts:
        return ScanAlerts(self.sessions, self.db_slots)

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.access_token_minutes)

    @property
    def refresh_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.refresh_token_days)

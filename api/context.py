"""What one running service holds: settings, the database, the signing keys."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.badge_cache import BadgeCache, generation_for
from api.capacity import DatabaseSlots
from api.db import make_engine, make_sessionmaker
from api.domain.audit.checkpoints import CheckpointStore, LogKeys, TransparencyLog
from api.domain.audit.log import derive_leaf_key
from api.domain.organisation.accounts import HashCost
from api.ratelimit import Limiter, make_limiter
from api.security import load_or_create_secret
from api.settings import Settings
from verification.tokens import KeyRing


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: KeyRing
    access_secret: str
    leaf_key: bytes
    limiter: Limiter
    badge_cache: BadgeCache[Any]
    db_slots: DatabaseSlots
    log: TransparencyLog

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None = None) -> "AppContext":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size,
                                       max_overflow=settings.db_pool_overflow)
        secret = load_or_create_secret(settings.data_dir, settings.secret_key)
        leaf_key = derive_leaf_key(secret)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine, leaf_key),
            keyring=KeyRing(settings.data_dir / "keys", fixed_keys=settings.badge_keys),
            access_secret=secret,
            leaf_key=leaf_key,
            limiter=make_limiter(settings.redis_url, settings.rate_limit_scale),
            badge_cache=BadgeCache(generation_for(settings.data_dir)),
            db_slots=DatabaseSlots(settings.db_slots, settings.db_queue_seconds),
            log=TransparencyLog(
                origin=settings.resolved_log_origin,
                keys=LogKeys(settings.data_dir / "log-keys", settings.resolved_log_origin, fixed_seed=settings.log_key),
                store=CheckpointStore(settings.log_dir or settings.data_dir / "log"),
            ),
        )

    @cached_property
    def hash_cost(self) -> HashCost:
        return HashCost(self.settings.argon2_time_cost, self.settings.argon2_memory_kib)

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.access_token_minutes)

    @property
    def refresh_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.refresh_token_days)

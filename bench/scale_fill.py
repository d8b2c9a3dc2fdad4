"""The fill of bench/scale.py: a city's agencies, staff, tasks and co-signatures, each row with its leaves in the
transparency log, loaded with COPY.

Every leaf is the one the service would write for its row: ``leaf_content`` over ``values_hash`` (the service's
``row_hash`` of the row as PostgreSQL will hand it back), its leaf hash and its MAC under the service's key.
Worker processes make the tasks a chunk at a time and COPY the chunk's tasks, co-signatures and leaves over a
connection of their own; the leaf indexes of a chunk follow from its number (every hundred tasks write the
same number of leaves), so chunks load in any order. This process appends their leaf hashes to the tree in
order and COPYs the perfect subtrees it completes (``log_nodes``), as the integrator does, and multiplies the
chunks' multiset hashes of (record, newest row hash) into the one a passing check leaves (``verified.json``).
"""

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import JSON, inspect

from api.domain.audit.log import leaf_content, leaf_mac, values_hash
from api.domain.audit.multiset import MultisetHash
from api.domain.audit.verified import _element
from api.domain.base import RULES_VERSION, Base
from api.domain.duties import ASSISTED_CODES, INDEPENDENT_CODES
from api.domain.models import Cosignature, LogLeaf, LogNode, Task
from verification.tlog import CompactRange, leaf_hash

CHUNK = 20_000
"""Tasks a worker makes and loads at once (a multiple of 100: the leaves of a chunk are known in advance)."""
LEAVES_PER_100 = 100 + 2 * 26
"""Of a hundred tasks, 26 are decided by an officer: a co-signature and the task's new version, two more leaves."""
FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)
INDEPENDENT = sorted(INDEPENDENT_CODES)
ASSISTED = sorted(ASSISTED_CODES)


@dataclass(frozen=True)
class Staff:
    """What a worker needs to make tasks: each auxiliary's (id, user id, agency, commanding agency), and each
    agency's officers as (officer id, user id)."""

    auxiliaries: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]]
    officers: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]]


def copy_columns(model: type[Base]) -> list[tuple[str, str, bool]]:
    """(attribute, column name, is JSON) of every column of ``model``, in the order COPY is given them."""
    return [(a.key, a.columns[0].name, isinstance(a.columns[0].type, JSON)) for a in inspect(model).column_attrs]


def copy_rows(conn: psycopg.Connection[Any], model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    columns = copy_columns(model)
    names = ", ".join(name for _, name, _ in columns)
    with conn.cursor() as cur, cur.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[key], ensure_ascii=False) if is_json and row[key] is not None
                            else row[key] for key, _, is_json in columns])


@dataclass
class Leaves:
    """Leaves made for rows, from index ``first`` on, with the multiset hash of their records' newest versions."""

    key: bytes
    first: int
    rows: list[tuple[Any, ...]]
    hashes: bytearray
    records: MultisetHash

    @classmethod
    def starting_at(cls, key: bytes, first: int) -> "Leaves":
        return cls(key, first, [], bytearray(), MultisetHash())

    def add(self, model: type[Base], values: Mapping[str, Any], action: str, actor: uuid.UUID | None,
            at: datetime, *, newest: bool = True) -> None:
        entity, entity_id, digest = model.__tablename__, str(values["id"]), values_hash(model, values)
        leaf = leaf_content(entity=entity, entity_id=entity_id, action=action, row_sha256=digest, at=at,
                            actor_id=actor, rules_version=values.get("rules_version", RULES_VERSION))
        hashed = leaf_hash(leaf)
        self.rows.append((self.first + len(self.rows), leaf, hashed, entity, entity_id, action, digest, at,
                          leaf_mac(self.key, hashed)))
        self.hashes += hashed
        if newest:
            self.records.add(_element(entity, entity_id, digest))

    def copy(self, conn: psycopg.Connection[Any]) -> None:
        names = ("idx", "leaf", "leaf_hash", "entity", "entity_id", "action", "row_hash", "at", "mac")
        with conn.cursor() as cur, cur.copy(f"COPY {LogLeaf.__tablename__} ({', '.join(names)}) FROM STDIN") as cp:
            for row in self.rows:
                cp.write_row(row)


def chunk_first_leaf(staff_leaves: int, chunk: int) -> int:
    return staff_leaves + chunk * CHUNK * LEAVES_PER_100 // 100


def task_values(i: int, total: int, staff: Staff, now: datetime) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Task ``i`` of ``total`` as stored, and its co-signature if an officer decided it. Of each hundred: 72
    independent, 25 co-signed, 1 refused, 2 still waiting; started evenly from FIRST_DAY to now."""
    aux_id, user_id, agency_id, command_id = staff.auxiliaries[(i * 7919) % len(staff.auxiliaries)]
    kind = i % 100
    started = FIRST_DAY + timedelta(seconds=int((now - FIRST_DAY).total_seconds() * i / total))
    created = started + timedelta(minutes=25)
    assisted = kind >= 72
    officer_id, officer_user = None, None
    if assisted:
        officers = staff.officers[command_id]
        officer_id, officer_user = officers[(i // 100) % len(officers)]
    status = "recorded" if not assisted else "cosigned" if kind < 97 else "rejected" if kind == 97 else (
        "pending_cosign")
    task_id = uuid.uuid4()
    task = {
        "id": task_id, "auxiliary_id": aux_id, "agency_id": agency_id, "command_agency_id": command_id,
        "category": (ASSISTED if assisted else INDEPENDENT)[i % (len(ASSISTED) if assisted else len(INDEPENDENT))],
        "mode": "assisted" if assisted else "independent", "status": status,
        "description": f"巡查责任区第{i}次，劝阻占道经营，现场拍照留存", "started_at": started,
        "ended_at": started + timedelta(minutes=20), "lat": 32.0 + (i % 997) / 10_000,
        "lon": 118.7 + (i % 991) / 10_000,
        "in_zone": True, "officer_id": officer_id,
        "assignment_ref": f"指令{i}" if assisted else None, "legal_basis": None, "corrects_id": None, "version": 1,
        "recorded_by": user_id, "content_hash": hashlib.sha256(task_id.bytes).hexdigest(),
        "rules_version": RULES_VERSION, "recorded_before_suspension": None, "created_at": created,
    }
    if not assisted or status == "pending_cosign":
        return task, None
    return task, {
        "id": uuid.uuid4(), "task_id": task_id, "officer_id": officer_id, "officer_user": officer_user,
        "decision": "approve" if status == "cosigned" else "reject", "note": None, "lat": task["lat"],
        "lon": task["lon"], "accuracy_m": 12.0, "distance_m": 35.5, "seconds_after_task": 3600,
        "far_from_task": False, "position_missing": False, "created_at": created + timedelta(minutes=35),
    }


# --- the worker processes --------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def server_cpu(conn: psycopg.Connection[Any]) -> float:
    """CPU seconds the connection's PostgreSQL backend has used so far, if it runs on this host (else 0)."""
    try:
        with open(f"/proc/{conn.info.backend_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def start_worker(dsn: str, key: bytes, staff: Staff, staff_leaves: int, total: int, now: datetime) -> None:
    _worker.update(conn=psycopg.connect(dsn), key=key, staff=staff, staff_leaves=staff_leaves, total=total,
                   now=now)


@dataclass(frozen=True)
class Chunk:
    """A chunk loaded: its leaf hashes in order, its multiset hash, its rows, and the CPU seconds it took the
    worker to make and send them and PostgreSQL to take them."""

    number: int
    hashes: bytes
    digest: bytes
    tasks: int
    cosignatures: int
    making_s: float
    storing_s: float


def load_chunk(chunk: int) -> Chunk:
    """Make and COPY one chunk of tasks (and their co-signatures and leaves)."""
    w = _worker
    conn: psycopg.Connection[Any] = w["conn"]
    cpu, server = time.process_time(), server_cpu(conn)
    leaves = Leaves.starting_at(w["key"], chunk_first_leaf(w["staff_leaves"], chunk))
    tasks, cosignatures = [], []
    for i in range(chunk * CHUNK, min(w["total"], (chunk + 1) * CHUNK)):
        task, cosignature = task_values(i, w["total"], w["staff"], w["now"])
        tasks.append(task)
        if cosignature is None:
            leaves.add(Task, task, "task.recorded", task["recorded_by"], task["created_at"])
            continue
        cosignatures.append(cosignature)
        leaves.add(Task, {**task, "status": "pending_cosign"}, "task.recorded", task["recorded_by"],
                   task["created_at"], newest=False)
        leaves.add(Cosignature, cosignature, "cosignature.created", cosignature["officer_user"],
                   cosignature["created_at"])
        leaves.add(Task, task, f"task.{task['status']}", cosignature["officer_user"], cosignature["created_at"])
    copy_rows(conn, Task, tasks)
    copy_rows(conn, Cosignature, cosignatures)
    leaves.copy(conn)
    conn.commit()
    digest = leaves.records.digest()
    return Chunk(chunk, bytes(leaves.hashes), digest, len(tasks), len(cosignatures), time.process_time() - cpu,
                 server_cpu(conn) - server)


# --- the tree, in this process ----------------------------------------------------------------------------------

class Tree:
    """The log's tree, grown leaf by leaf in index order; the subtrees each chunk completes are COPYed."""

    def __init__(self) -> None:
        self.range = CompactRange()

    def grow(self, conn: psycopg.Connection[Any], hashes: bytes) -> None:
        nodes: list[tuple[int, int, bytes]] = []
        for start in range(0, len(hashes), 32):
            nodes.extend(self.range.append(hashes[start:start + 32]))
        names = "level, idx, hash"
        with conn.cursor() as cur, cur.copy(f"COPY {LogNode.__tablename__} ({names}) FROM STDIN") as cp:
            for node in nodes:
                cp.write_row(node)


def staff_days(i: int) -> tuple[date, date]:
    """(hired on, born on) of auxiliary ``i``."""
    return date(2019, 1, 7) + timedelta(days=i % 2000), date(1975, 1, 1) + timedelta(days=(i * 37) % 9000)


def spread(count: int, agencies: int) -> Iterator[int]:
    """Which of ``agencies`` staffed agencies auxiliary ``i`` of ``count`` works for: the first has 5,000 (or
    5 %), the others share the rest."""
    big = min(5000, count // 20) if agencies > 1 else count
    for i in range(count):
        yield 0 if i < big else 1 + (i - big) % (agencies - 1)

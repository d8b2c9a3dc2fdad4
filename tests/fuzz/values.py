"""Hostile values by the kind of field they go into, and the fields of a body to put them in.

Bodies are encoded here, not by the HTTP client, so they can carry what a well-behaved client never sends:
NaN and Infinity as raw JSON text, 1e309, lone surrogates as ``\\ud800`` escapes, 5000-deep nesting.
"""

import copy
import json
import re
from typing import Any

DEPTH = 5000
BIG = "x" * 100_000


class Raw(str):
    """JSON text inserted verbatim where this value stands (NaN, 1e309, deep nesting)."""


def encode_json(value: Any) -> bytes:
    raws: list[str] = []

    def swap(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(str(node))
            return f"@@RAW{len(raws) - 1}@@"
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    text = json.dumps(swap(value), ensure_ascii=True, allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', raw, 1)
    return text.encode("ascii")


# --- values by kind ---------------------------------------------------------------------------------------

TYPE_SWAPS: list[tuple[str, Any]] = [
    ("null", None), ("true", True), ("int_2_63", 2**63), ("empty_str", ""), ("empty_list", []), ("obj", {"a": [1]}),
]
STRINGS: list[tuple[str, Any]] = [
    ("str_100kb", BIG), ("str_nul", "\x00"), ("str_inner_nul", "a\x00b"), ("str_lone_surrogate", "x\ud800y"),
    ("str_rtl_override", "\u202e\u200b\ufeff"), ("str_blank", "   \t\n"), ("str_emoji_10k", "🙂" * 10_000),
    ("number", 12),
]
NUMBERS: list[tuple[str, Any]] = [
    ("num_1e309", Raw("1e309")), ("num_nan", Raw("NaN")), ("num_-inf", Raw("-Infinity")), ("num_-1", -1),
    ("num_-2_63", -(2**63) - 1), ("num_10_30", 10**30), ("num_denormal", 5e-324), ("num_5000_digits", Raw("9" * 5000)),
]
DATETIMES: list[tuple[str, Any]] = [
    ("dt_naive", "2026-11-26T09:00:00"), ("dt_year1_plus14", "0001-01-01T00:00:00+14:00"),
    ("dt_year9999_minus14", "9999-12-31T23:59:59-14:00"), ("dt_year9999_utc", "9999-12-31T23:59:59Z"),
    ("dt_feb30", "2026-02-30T09:00:00+08:00"), ("dt_offset_25h", "2026-11-26T09:00:00+25:00"),
    ("dt_garbage", "not-a-date"), ("dt_epoch_huge", 10**20),
]
DATES: list[tuple[str, Any]] = [
    ("date_year1", "0001-01-01"), ("date_year9999", "9999-12-31"), ("date_year0", "0000-01-01"),
    ("date_feb30", "2026-02-30"), ("date_datetime", "2026-11-26T00:00:00+08:00"), ("date_epoch", 1_700_000_000),
]
UUIDS: list[tuple[str, Any]] = [
    ("uuid_nil", "00000000-0000-0000-0000-000000000000"), ("uuid_random", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
    ("uuid_garbage", "not-a-uuid"), ("uuid_overlong", "f" * 5000),
]
ARRAYS: list[tuple[str, Any]] = [
    ("list_deep", Raw("[" * DEPTH + "]" * DEPTH)), ("list_10k_nulls", [None] * 10_000),
    ("list_nested_junk", [[[]], {"a": "\x00"}, "\ud800"]),
]
OBJECTS: list[tuple[str, Any]] = [
    ("obj_deep", Raw('{"a":' * DEPTH + "1" + "}" * DEPTH)), ("obj_surrogate_key", {"\ud800": 1}),
    ("obj_nul_key", {"\x00": 1}),
]
BOOLS: list[tuple[str, Any]] = [("bool_str", "true"), ("bool_2", 2)]

_ISO_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def schema_kind(schema: dict[str, Any]) -> str | None:
    for alt in schema.get("anyOf", []):
        if alt.get("type") != "null":
            return schema_kind(alt)
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        return {"date-time": "datetime", "date": "date", "uuid": "uuid"}.get(fmt or "", "string")
    return {"integer": "number", "number": "number", "boolean": "bool", "array": "array",
            "object": "object"}.get(kind or "")


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        if _ISO_DT.match(value):
            return "datetime"
        if _ISO_DATE.match(value):
            return "date"
        if _UUID.match(value):
            return "uuid"
    return "string"


KIND_VALUES = {"string": STRINGS, "number": NUMBERS, "datetime": DATETIMES, "date": DATES, "uuid": UUIDS,
               "array": ARRAYS, "object": OBJECTS, "bool": BOOLS}

# --- field paths of a body ---------------------------------------------------------------------------------

FieldPath = tuple[str | int, ...]


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    for alt in schema.get("anyOf", []):
        if alt.get("properties"):
            return _properties(alt)
    props: dict[str, Any] = schema.get("properties", {})
    return props


def field_paths(base: Any, schema: dict[str, Any] | None) -> dict[FieldPath, str]:
    """Every field of the body, nested ones too, with its kind: the base body's own structure (so a list of
    records such as sync's ``tasks`` is entered), plus optional schema properties the base leaves out."""
    paths: dict[FieldPath, str] = {}

    def walk_value(node: Any, at: FieldPath) -> None:
        if at:
            paths[at] = _value_kind(node)
        if isinstance(node, dict):
            for k, v in node.items():
                walk_value(v, (*at, k))
        elif isinstance(node, list) and node and len(at) < 6:
            walk_value(node[0], (*at, 0))

    def walk_schema(node: dict[str, Any], at: FieldPath) -> None:
        if len(at) > 3:
            return
        for name, prop in _properties(node).items():
            here = (*at, name)
            kind = schema_kind(prop)
            if here not in paths and kind:
                paths[here] = kind
            walk_schema(prop, here)

    walk_value(base, ())
    if schema:
        walk_schema(schema, ())
    return paths


def set_path(body: Any, at: FieldPath, value: Any, *, delete: bool = False) -> Any:
    out = copy.deepcopy(body)
    node = out
    for step in at[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(step, {})
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return out
        if not isinstance(node, dict | list):
            return out
    last = at[-1]
    if isinstance(node, dict):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    return out


def dotted(at: FieldPath) -> str:
    return ".".join(str(p) for p in at)


# Deep inside a body (a list's items, an object's members' members) a few values stand for the type swaps.
COMPACT: list[tuple[str, Any]] = [
    ("null", None), ("empty_str", ""), ("str_nul", "\x00"), ("str_lone_surrogate", "\ud800"), ("int_2_63", 2**63),
    ("num_nan", Raw("NaN")), ("empty_obj", {}), ("empty_list", []),
]
JSON = {"Content-Type": "application/json"}


def field_bodies(base: Any, schema: dict[str, Any] | None) -> list[tuple[str, bytes, dict[str, str]]]:
    out: list[tuple[str, bytes, dict[str, str]]] = []
    for at, kind in field_paths(base, schema).items():
        name = dotted(at)
        out.append((f"{name}:missing", encode_json(set_path(base, at, None, delete=True)), JSON))
        deep = len(at) > 2 or any(isinstance(step, int) for step in at[:-1])
        for label, value in (COMPACT if deep else TYPE_SWAPS) + KIND_VALUES.get(kind, []):
            out.append((f"{name}:{label}", encode_json(set_path(base, at, value)), JSON))
    return out

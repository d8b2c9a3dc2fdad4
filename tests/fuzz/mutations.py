"""Hypothesis: valid bodies mutated a few fields at a time, by values drawn for hostility, not validity."""

from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.bases import base_form, base_json
from tests.fuzz.battery import base_case
from tests.fuzz.payloads import Case
from tests.fuzz.spec import Operation
from tests.fuzz.values import (
    DATES,
    DATETIMES,
    NUMBERS,
    STRINGS,
    TYPE_SWAPS,
    UUIDS,
    dotted,
    encode_json,
    field_paths,
    set_path,
)
from tests.fuzz.world import World

# Every code point, lone surrogates and NUL included.
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.text(st.sampled_from("\x00\ud800\udfff\u202e\ufeff\n\t %/\\'\"<>{}[]0123456789-:T+Z"), max_size=40),
    st.sampled_from([v for _, v in STRINGS if isinstance(v, str)]),
)
OFFSETS = ["Z", "+14:00", "-14:00", "+08:00", "+00:00", ""]
ISO_INSTANT = st.builds(lambda d, off: d.isoformat() + off, st.datetimes(), st.sampled_from(OFFSETS))
CATALOGUE = st.sampled_from([v for _, v in TYPE_SWAPS + NUMBERS + DATETIMES + DATES + UUIDS])
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), HOSTILE_TEXT, ISO_INSTANT, st.dates().map(str),
    st.uuids().map(str), CATALOGUE,
)
JSON_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(HOSTILE_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _enum_values(schema: dict[str, Any] | None) -> list[Any]:
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(node.get("enum", []))
            if "const" in node:
                found.append(node["const"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return found


def mutated_case(op: Operation, world: World, data: st.DataObject) -> Case:
    base = base_case(op, world)
    if op.body == "form":
        fields = dict(base_form(op, world))
        names = data.draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=len(fields), unique=True))
        for name in names:
            value = data.draw(st.one_of(st.none(), HOSTILE_TEXT), label=name)
            if value is None:
                fields.pop(name)
            else:
                fields[name] = value
        content = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in fields.items())
        return Case(f"form:{sorted(fields.items())!r}"[:200], base.path, base.query, base.headers, content.encode())
    body = base_json(op, world)
    paths = sorted(field_paths(body, op.body_schema), key=dotted)
    enums = _enum_values(op.body_schema)
    value_strategy = st.one_of(JSON_VALUE, st.sampled_from(enums)) if enums else JSON_VALUE
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True), label="fields")
    for at in chosen:
        if data.draw(st.booleans(), label=f"delete {dotted(at)}") and len(chosen) > 1:
            body = set_path(body, at, None, delete=True)
        else:
            body = set_path(body, at, data.draw(value_strategy, label=dotted(at)))
    return Case(f"mutated:{','.join(dotted(a) for a in chosen)}", base.path, base.query, base.headers,
                encode_json(body))

"""Hostile requests short of their values: whole bodies, forms, multipart envelopes, path and query junk."""

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.fuzz.values import DEPTH, JSON, encode_json, schema_kind


@dataclass(frozen=True)
class Case:
    """One request, short of its method and the caller's credentials."""

    label: str
    path: str
    query: str = ""
    headers: dict[str, str | bytes] = field(default_factory=dict)
    content: bytes | None = None
    method: str | None = None  # another method than the operation's own

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


# --- whole bodies -----------------------------------------------------------------------------------------

def whole_json_bodies(base: Any) -> list[tuple[str, bytes | None, dict[str, str]]]:
    valid = encode_json(base)
    return [
        ("no_body", None, {}),
        ("empty_body_json_type", b"", JSON),
        ("null", b"null", JSON), ("array", b"[]", JSON), ("string", b'"x"', JSON), ("number", b"0", JSON),
        ("true", b"true", JSON), ("empty_object", b"{}", JSON), ("raw_nan", b"NaN", JSON),
        ("raw_infinity", b"Infinity", JSON), ("raw_1e309", b"1e309", JSON),
        ("malformed_open_brace", b"{", JSON), ("malformed_dangling", b'{"a":', JSON),
        ("malformed_trailing_comma", b'{"a":1,}', JSON), ("invalid_utf8", b"\xff\xfe\xfd", JSON),
        ("nul_byte", b"\x00", JSON), ("bom_then_json", b"\xef\xbb\xbf" + valid, JSON),
        ("utf16_json", valid.decode().encode("utf-16"), JSON),
        ("deep_array_5000", b"[" * DEPTH + b"]" * DEPTH, JSON),
        ("deep_object_5000", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, JSON),
        ("unclosed_deep_array", b"[" * DEPTH, JSON),
        ("huge_int_literal", b"9" * 5000, JSON),
        ("wrapped_in_list", encode_json([base]), JSON),
        ("valid_as_text_plain", valid, {"Content-Type": "text/plain"}),
        ("valid_without_content_type", valid, {}),
        ("valid_as_xml", valid, {"Content-Type": "application/xml"}),
        ("valid_json_latin1_charset", valid, {"Content-Type": "application/json; charset=latin-1"}),
        ("valid_json_bogus_params", valid, {"Content-Type": "application/json; ;;=; boundary"}),
        ("garbage_content_type", valid, {"Content-Type": "\x7f/\x7f"}),
        ("form_encoded_instead", b"a=1&b=%00", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("multipart_instead", *multipart([("body", None, "application/json", valid)])),
        ("duplicate_keys", b"{" + valid[1:-1] + b"," + valid[1:-1] + b"}" if valid.startswith(b"{")
         else valid, JSON),
        ("extra_field", encode_json({**base, "unexpected": 1}) if isinstance(base, dict) else valid, JSON),
        ("surrogate_key", encode_json({**base, "\ud800": 1}) if isinstance(base, dict) else valid, JSON),
    ]


# --- forms ------------------------------------------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Already percent-encoded: what a hostile client can put in a form value.
FORM_VALUES: list[tuple[str, str]] = [
    ("empty", ""), ("nul", "%00"), ("inner_nul", "a%00b"), ("invalid_utf8", "%ff%fe"),
    ("encoded_surrogate", "%ED%A0%80"), ("str_100kb", "x" * 100_000), ("crlf", "%0d%0aSet-Cookie:%20x=1"),
    ("dt_naive", "2026-11-26T09:00"), ("dt_year1_plus14", "0001-01-01T00:00:00%2B14:00"),
    ("dt_year9999", "9999-12-31T23:59:59-14:00"), ("dt_garbage", "not-a-date"), ("emoji", quote("🙂" * 100)),
]


def encode_form(fields: dict[str, str]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode()


def form_bodies(base: dict[str, str]) -> list[tuple[str, bytes | None, dict[str, str]]]:
    valid = encode_form(base)
    out: list[tuple[str, bytes | None, dict[str, str]]] = [
        ("no_body", None, {}), ("empty", b"", FORM), ("json_instead", encode_json(base), JSON),
        ("garbage_bytes", b"\xff\xfe&&==&%", FORM), ("only_separators", b"&&&&====", FORM),
        ("valid_as_text_plain", valid, {"Content-Type": "text/plain"}),
        ("multipart_form", *multipart([(k, None, None, v.encode()) for k, v in base.items()])),
        ("repeated_fields", valid + b"&" + valid, FORM), ("unknown_field", valid + b"&zzz=1", FORM),
        ("many_fields", b"&".join(b"f%d=1" % i for i in range(5000)), FORM),
    ]
    for name in base:
        rest = {k: v for k, v in base.items() if k != name}
        out.append((f"{name}:missing", encode_form(rest), FORM))
        for label, raw in FORM_VALUES:
            pieces = [f"{quote(k)}={quote(v)}" for k, v in rest.items()] + [f"{quote(name)}={raw}"]
            out.append((f"{name}:{label}", "&".join(pieces).encode(), FORM))
    return out


# --- multipart --------------------------------------------------------------------------------------------

BOUNDARY = "fuzzBoundary7MA4YWxkTrZu0gW"
RANDOM_BYTES = bytes((i * 1103515245 + 12345) >> 8 & 0xFF for i in range(4096))
PNG_BOMB_HEADER = (  # a 100000 x 100000 PNG header: a decompression bomb announced in 33 bytes
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00"
    b"\x00\x00\x00\x00"
)


def multipart(
    parts: list[tuple[str, str | None, str | None, bytes]], *, boundary: str = BOUNDARY
) -> tuple[bytes, dict[str, str]]:
    """Parts as (field name, filename, content type, data); names and filenames go in unescaped."""
    out = b""
    for name, filename, ctype, data in parts:
        disposition = f'form-data; name="{name}"'.encode("utf-8", "surrogatepass")
        if filename is not None:
            disposition += b'; filename="' + filename.encode("utf-8", "surrogatepass") + b'"'
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n"
        if ctype is not None:
            out += b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def multipart_bodies(
    field_name: str, data: bytes, ctype: str, filename: str
) -> list[tuple[str, bytes | None, dict[str, str]]]:
    def one(name: str = field_name, fname: str | None = filename, ct: str | None = ctype,
            payload: bytes = data) -> tuple[bytes, dict[str, str]]:
        return multipart([(name, fname, ct, payload)])

    body, headers = one()
    return [
        ("no_body", None, {}),
        ("empty_multipart_no_boundary", b"", {"Content-Type": "multipart/form-data"}),
        ("only_closing_boundary", f"--{BOUNDARY}--\r\n".encode(), headers),
        ("empty_file", *one(payload=b"")),
        ("random_bytes", *one(payload=RANDOM_BYTES)),
        ("random_bytes_as_png", *one(payload=RANDOM_BYTES, ct="image/png")),
        ("truncated_file", *one(payload=data[: len(data) // 2])),
        ("png_bomb_header", *one(payload=PNG_BOMB_HEADER, ct="image/png")),
        ("huge_filename", *one(fname="a" * 100_000 + ".png")),
        ("filename_path_traversal", *one(fname="../../../etc/passwd")),
        ("filename_windows_path", *one(fname="..\\..\\windows\\system32\\x.png")),
        ("filename_nul", *one(fname="a\x00b.png")),
        ("filename_surrogate", *one(fname="a\ud800.png")),
        ("filename_empty", *one(fname="")),
        ("filename_crlf", *one(fname="a\r\nContent-Type: text/html\r\n.png")),
        ("no_filename", *one(fname=None)),
        ("content_type_127_chars", *one(ct="a" * 63 + "/" + "b" * 63)),
        ("content_type_nul", *one(ct="image/png\x00")),
        ("content_type_garbage", *one(ct="\x7f;;;=")),
        ("content_type_huge", *one(ct="image/" + "x" * 100_000)),
        ("no_content_type", *one(ct=None)),
        ("wrong_field_name", *one(name="not_" + field_name)),
        ("field_name_nul", *one(name=field_name + "\x00")),
        ("two_files", *multipart([(field_name, filename, ctype, data), (field_name, filename, ctype, data)])),
        ("text_field_instead_of_file", *multipart([(field_name, None, None, b"hello")])),
        ("truncated_envelope", body[: len(body) // 2], headers),
        ("boundary_mismatch", body, {"Content-Type": "multipart/form-data; boundary=other"}),
        ("boundary_overlong", body, {"Content-Type": "multipart/form-data; boundary=" + "b" * 5000}),
        ("missing_part_headers", f"--{BOUNDARY}\r\n\r\nabc\r\n--{BOUNDARY}--\r\n".encode(), headers),
        ("json_instead", encode_json({field_name: "x"}), JSON),
        ("raw_bytes_as_octet_stream", data, {"Content-Type": "application/octet-stream"}),
        ("urlencoded_instead", f"{field_name}=x".encode(), FORM),
    ]


# --- path and query ---------------------------------------------------------------------------------------

PATH_JUNK: list[tuple[str, str]] = [
    ("garbage", "not-a-uuid"), ("overlong", "0" * 5000), ("nul", "%00"), ("invalid_utf8", "%ff%fe"),
    ("dotdot_slash", "..%2f..%2fetc%2fpasswd"), ("encoded_dotdot", "%2e%2e%2f%2e%2e%2f"),
    ("encoded_surrogate", "%ED%A0%80"), ("nil_uuid", "00000000-0000-0000-0000-000000000000"),
    ("random_uuid", str(uuid.UUID(int=0xF00D))), ("crlf", "%0d%0aX-Injected:%201"),
    ("uuid_upper_braces", "%7B" + str(uuid.UUID(int=1)).upper() + "%7D"), ("long_alnum", "A" * 300),
]

_CURSORS = [
    ["0001-01-01T00:00:00+14:00", str(uuid.UUID(int=1))],
    ["9999-12-31T23:59:59-14:00", str(uuid.UUID(int=1))],
    ["2026-01-01T00:00:00", str(uuid.UUID(int=1))],
    ["2026-01-01T00:00:00+00:00", 5],
    ["2026-01-01T00:00:00+00:00", None],
    ["2026-01-01T00:00:00+00:00", ["x"]],
    [5, 5], {"a": 1}, [], "x", 1, None, [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]],
]


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


QUERY_ANY: list[tuple[str, str]] = [("empty", ""), ("nul", "%00"), ("invalid_utf8", "%ff%fe"), ("long", "x" * 10_000)]
QUERY_BY_KIND: dict[str, list[tuple[str, str]]] = {
    "number": [("minus_one", "-1"), ("zero", "0"), ("huge", "1" + "0" * 30), ("float", "1.5"), ("word", "abc"),
               ("inf", "1e309")],
    "datetime": [("dt_naive", "2026-11-26T09:00:00"), ("dt_year1_plus14", "0001-01-01T00:00:00%2B14:00"),
                 ("dt_year9999_minus14", "9999-12-31T23:59:59-14:00"), ("dt_garbage", "not-a-date"),
                 ("dt_date_only", "2026-11-26")],
    "uuid": [("uuid_nil", "00000000-0000-0000-0000-000000000000"), ("uuid_garbage", "not-a-uuid"),
             ("uuid_overlong", "f" * 5000)],
    "cursor": [("cursor_garbage", "garbage"),
               ("cursor_b64_garbage", base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode()),
               *((f"cursor_crafted_{i}", _b64(c)) for i, c in enumerate(_CURSORS))],
    "string": [("garbage", "garbage"), ("upper", "ACTIVE")],
}


def query_cases(params: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """(label, raw query string): each parameter alone with junk for any parameter and junk for its kind
    (by its schema), then repeats, brackets and strays."""
    out: list[tuple[str, str]] = []
    for name, schema in params:
        kind = "cursor" if name == "cursor" else (schema_kind(schema) or "string")
        for label, value in QUERY_ANY + QUERY_BY_KIND.get(kind, QUERY_BY_KIND["string"]):
            out.append((f"{name}={label}", f"{name}={value}"))
        out += [(f"{name}:repeated", f"{name}=1&{name}=2"), (f"{name}:bracketed", f"{name}[]=1"),
                (f"{name}:no_equals", name)]
    out += [("unknown_param", "zzz=1"), ("only_ampersands", "&&&=&="), ("bare_percent", "a=%")]
    return out

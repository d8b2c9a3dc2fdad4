"""The deterministic battery of hostile requests for one operation, built from its OpenAPI description and
the valid request it starts from."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from tests.fuzz.bases import (
    base_form,
    base_headers,
    base_json,
    base_query,
    base_upload,
    fill_path,
    path_values,
)
from tests.fuzz.payloads import (
    PATH_JUNK,
    Case,
    encode_form,
    form_bodies,
    multipart,
    multipart_bodies,
    query_cases,
    whole_json_bodies,
)
from tests.fuzz.spec import Operation
from tests.fuzz.values import encode_json, field_bodies
from tests.fuzz.world import World, qr_png

# What a role turned away before its body is used gets: one broken body, one junk path, one junk query.
REDUCED = ("body:malformed_open_brace", "body:no_body", "path:", "query:")


@dataclass(frozen=True)
class Battery:
    base: Case
    full: list[Case]
    reduced: list[Case]
    anonymous: list[Case]  # forged and broken credentials, sent without a role's token


def _body(op: Operation, world: World) -> tuple[bytes | None, dict[str, str | bytes]]:
    if op.body == "json":
        return encode_json(base_json(op, world)), {"Content-Type": "application/json"}
    if op.body == "form":
        return encode_form(base_form(op, world)), {"Content-Type": "application/x-www-form-urlencoded"}
    if op.body == "multipart":
        name, data, ctype, filename = base_upload(op, world)
        content, headers = multipart([(name, filename, ctype, data)])
        return content, dict(headers)
    return None, {}


def _body_cases(op: Operation, world: World) -> list[tuple[str, bytes | None, dict[str, str]]]:
    """Whole-body cases; for JSON, field-by-field ones after them (labelled ``field:...``)."""
    if op.body == "json":
        base = base_json(op, world)
        fields = [(f"field:{label}", c, h) for label, c, h in field_bodies(base, op.body_schema)]
        return whole_json_bodies(base) + fields
    if op.body == "form":
        return form_bodies(base_form(op, world))
    if op.body == "multipart":
        return multipart_bodies(*base_upload(op, world))
    # Endpoints without a body must shrug one off.
    return [("unexpected_json_body", b'{"a": "\\u0000"}', {"Content-Type": "application/json"}),
            ("unexpected_garbage_body", b"\xff" * 1000, {"Content-Type": "application/octet-stream"}),
            ("unexpected_deep_body", b"[" * 5000, {"Content-Type": "application/json"})]


# Starlette's multipart parser leaves the temporary file of a part cut off by the end of the body unclosed
# (a ResourceWarning when it is collected; the answer itself is a proper 422). Sent by its own test.
TRUNCATED_MULTIPART = "body:truncated_envelope"


# What a photographed QR code may say: the decoded text is the client's, as much as any field.
QR_TEXTS: list[tuple[str, str]] = [
    ("bracket_host", "https://[bad"), ("ipv6_unclosed", "http://[::1/v/x"),
    ("long_token", "https://verify.example.gov.cn/v/" + "A" * 1500),
    ("escaped_junk_token", "https://verify.example.gov.cn/v/%00%ff..%2f"), ("slash_in_token", "https://verify.example.gov.cn/v/a/b"),
    ("upper_case_url", "HTTPS://VERIFY.EXAMPLE.GOV.CN/v/xyz"), ("explicit_port", "https://verify.example.gov.cn:443/v/x"),
    ("bad_port", "https://verify.example.gov.cn:99999999/v/x"), ("non_ascii_token", "https://verify.example.gov.cn/v/令牌"),
    ("control_chars", "\x00\x01\x7f"), ("plain_text", "hello"),
]


def _qr_cases(op: Operation, world: World, base: Case) -> list[Case]:
    if op.path != "/api/public/verify-image":
        return []
    name, _, ctype, filename = base_upload(op, world)
    return [Case(f"qr:{label}", base.path, base.query, dict(multipart([(name, filename, ctype, qr_png(text))])[1]),
                 multipart([(name, filename, ctype, qr_png(text))])[0]) for label, text in QR_TEXTS]


def _query(base: str, extra: str) -> str:
    name = extra.split("=", 1)[0].split("[", 1)[0]
    kept = [p for p in base.split("&") if p and p.split("=", 1)[0] != name]
    return "&".join([*kept, extra])


def _header_cases(op: Operation, base: Case) -> list[Case]:
    if not any(p.where == "header" for p in op.params):
        return []
    junk: list[tuple[str, str | bytes]] = [
        ("empty", ""), ("long", "x" * 10_000), ("latin1", b"\xff\xfe"), ("tab", "a\tb"), ("nul_escaped", "%00"),
        ("dashes_spaces", " - - - "), ("utf8_bytes", ("ǅ" * 20).encode()),
    ]
    return [Case(f"header:{p.name}={label}", base.path, base.query, {**base.headers, p.name: value},
                 base.content) for p in op.params if p.where == "header" for label, value in junk]


def _forged_tokens(world: World) -> list[tuple[str, str | bytes]]:
    now = datetime.now(UTC)
    claims = {"sub": str(uuid.uuid4()), "role": "justice_admin", "aud": "auxduty:api", "typ": "access",
              "iat": now, "exp": now + timedelta(minutes=5)}
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    none_body = base64.urlsafe_b64encode(json.dumps({**claims, "iat": 0, "exp": 2**40}).encode()).rstrip(b"=")
    valid = str(world.headers["auxiliary"]["Authorization"]).split(" ", 1)[1]
    return [
        ("bearer_junk", "Bearer x"), ("basic", "Basic Zm9vOmJhcg=="),
        ("wrong_secret", "Bearer " + jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")),
        ("alg_none", f"Bearer {none_header.decode()}.{none_body.decode()}."),
        ("sub_not_uuid", "Bearer " + jwt.encode({**claims, "sub": "../../admin"}, "k" * 48, algorithm="HS256")),
        ("huge", "Bearer " + "A" * 100_000), ("latin1_bytes", b"Bearer \xff\xfe\xfd"),
        ("valid_token_twice", f"Bearer {valid} {valid}"),
    ]


def base_case(op: Operation, world: World) -> Case:
    """The valid request every hostile variant of ``op`` starts from."""
    content, body_headers = _body(op, world)
    headers: dict[str, str | bytes] = {**body_headers, **base_headers(op, world)}
    return Case("base", fill_path(op, path_values(op, world)), base_query(op, world), headers, content)


def battery(op: Operation, world: World) -> Battery:
    path_vals = path_values(op, world)
    base = base_case(op, world)
    query, headers, content = base.query, base.headers, base.content

    path_cases = [
        Case(f"path:{name}={label}", fill_path(op, {**path_vals, name: junk}), query, headers, content)
        for name in path_vals for label, junk in PATH_JUNK
    ]
    query_params = [(p.name, p.schema) for p in op.params if p.where == "query"]
    q_cases = [Case(f"query:{label}", base.path, _query(query, q), headers, content)
               for label, q in (query_cases(query_params) if query_params else [("unknown_param", "zzz=%00")])]
    extra_headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    b_cases = [Case(label if label.startswith("field:") else f"body:{label}", base.path, query,
                    {**extra_headers, **h}, c) for label, c, h in _body_cases(op, world)]
    h_cases = _header_cases(op, base)
    other_method = "PATCH" if op.method != "PATCH" else "DELETE"
    misc = [
        Case("method_not_allowed", base.path, query, headers, content, method=other_method),
        Case("trailing_slash", base.path + "/", query, headers, content),
        Case("accept_language_en", base.path, query, {**headers, "Accept-Language": "en"}, b"\x00"),
        Case("accept_language_latin1", base.path, query, {**headers, "Accept-Language": b"\xff"}, b"\x00"),
    ]
    full = [c for c in path_cases + q_cases + b_cases + h_cases + misc + _qr_cases(op, world, base)
            if c.label != TRUNCATED_MULTIPART]
    reduced = [next(c for c in full if c.label.startswith(prefix))
               for prefix in REDUCED if any(c.label.startswith(prefix) for c in full)]
    reduced = list({c.label: c for c in reduced}.values())[:3]
    anonymous = [Case(f"auth:{label}", base.path, query, {**headers, "Authorization": value}, content)
                 for label, value in _forged_tokens(world)] if op.secured else []
    return Battery(base, full, reduced, anonymous)

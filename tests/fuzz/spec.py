"""The operations to fuzz, read from the app's own ``/openapi.json``: paths, parameters, request bodies."""

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from api.main import create_app
from tests.conftest import make_settings

BodyKind = Literal["json", "form", "multipart"]


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query | header
    schema: dict[str, Any]
    required: bool


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[Param, ...]
    body: BodyKind | None
    body_schema: dict[str, Any] | None
    html: bool  # answers a page, not JSON
    secured: bool  # reads a bearer token; public operations never look at one
    statuses: frozenset[str]  # the statuses it documents (a 5xx among them is a promise, not a crash)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def params_in(self, where: str) -> list[Param]:
        return [p for p in self.params if p.where == where]


def _resolve(node: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """Inline every ``$ref`` (request schemas have no cycles; the depth cap is a guard, not a feature)."""
    if depth > 20:
        return {}
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(components[name], components, depth + 1)
        return {k: _resolve(v, components, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components, depth + 1) for v in node]
    return node


_BODY_KINDS: dict[str, BodyKind] = {"application/json": "json", "application/x-www-form-urlencoded": "form",
               "multipart/form-data": "multipart"}


def load_openapi() -> dict[str, Any]:
    # The data dir outlives the app: every flush in this process bumps the badge-cache stamp of each data dir
    # an app was built on (api/badge_cache.py), so it must not vanish under them.
    tmp = Path(tempfile.mkdtemp(prefix="auxduty-openapi-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    app = create_app(make_settings(tmp), migrate=False)
    spec: dict[str, Any] = app.openapi()
    app.state.ctx.engine.dispose()
    return spec


def load_operations(spec: dict[str, Any]) -> list[Operation]:
    components = spec.get("components", {}).get("schemas", {})
    ops: list[Operation] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = tuple(
                Param(p["name"], p["in"], _resolve(p.get("schema", {}), components), p.get("required", False))
                for p in op.get("parameters", [])
            )
            content = op.get("requestBody", {}).get("content", {})
            body = body_schema = None
            for media, kind in _BODY_KINDS.items():
                if media in content:
                    body, body_schema = kind, _resolve(content[media].get("schema", {}), components)
            ok = op.get("responses", {}).get("200") or op.get("responses", {}).get("201") or {}
            html = "text/html" in ok.get("content", {})
            ops.append(Operation(method.upper(), path, params, body, body_schema, html, bool(op.get("security")),
                                 frozenset(op.get("responses", {}))))
    return ops


SPEC = load_openapi()
OPERATIONS = load_operations(SPEC)

"""The catalogue of every error ``code`` the service answers, read from its own source.

A refusal is made in one of a few ways: a ``DomainError`` subclass (``RuleViolation("officer_required",
"第八条", ...)``, ``Conflict(...)``, ``NotFound(...)``, ``ServiceBusy(...)``), a ``PhotoRejected`` of the
photo decoder, an ``UploadTooLarge`` of a size-limited route, or ``api.errors.problem(...)`` itself. The
catalogue walks the syntax trees of ``api``, ``verification`` and ``schemas``, learns from each class's
``__init__`` (and its ``super().__init__`` call) where the code, the status and the article go, and reads
them off every call. A call whose code it cannot read (not a literal, nor a module constant) is listed in
``unresolved()``; a test keeps that list empty, so no code reaches a client without being catalogued.
"""

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from api.errors import HTTP_CODES

PACKAGES = ("api", "verification", "schemas")
# Where the chain of refusals starts; everything that subclasses these is found by itself.
ROOTS: dict[str, dict[str, object]] = {
    "DomainError": {},
    "PhotoRejected": {},
    "UploadTooLarge": {"status": 413},  # super().__init__ is Starlette's HTTPException(status_code, ...)
}
# Functions that make a problem from a code they are given.
FUNCTIONS: dict[str, dict[str, object]] = {
    "problem": {},
    "limited_upload_route": {"status": 413},
}
# Functions that pass on a code chosen elsewhere: the codes they may pass are catalogued where chosen
# (``HTTP_CODES`` for ``_http_error``).
FORWARDERS = frozenset({"_http_error"})
# Modules whose wording of a code is the general one (a domain site words it for its own case).
EDGE = ("api/errors.py", "api/deps.py", "api/security.py", "api/capacity.py", "api/ratelimit.py")
FIELDS = ("code", "status", "article", "detail_zh", "detail_en")
ELLIPSIS = "…"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    statuses: tuple[int, ...]
    articles: tuple[str, ...]
    detail_zh: str
    detail_en: str
    sources: tuple[str, ...]


@dataclass
class _Maker:
    """How a call of one refusal class or function is read: its parameters, and what is fixed."""

    positional: list[str]
    keywords: set[str]
    defaults: dict[str, ast.expr]
    fixed: dict[str, object] = field(default_factory=dict)
    # field -> own parameter that carries it (``_Refused(status, code, ...)``)
    carried: dict[str, str] = field(default_factory=dict)
    # status looked up in a module dict by the code (``PhotoRejected``: ``_HTTP_STATUS[code]``)
    status_table: dict[str, int] | None = None


@dataclass
class _Module:
    path: str
    tree: ast.Module
    constants: dict[str, ast.expr]


def _modules() -> list[_Module]:
    modules = []
    for package in PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for file in sorted(root.rglob("*.py")):
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                         and node.value is not None
                         for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                         if isinstance(t, ast.Name)}
            modules.append(_Module(f"{package}/{file.relative_to(root).as_posix()}", tree, constants))
    return modules


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef, *, method: bool) -> _Maker:
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)][1 if method else 0:]
    defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
    return _Maker(positional, {a.arg for a in args.kwonlyargs} | set(positional), defaults)


def _bind(call: ast.Call, maker: _Maker, constants: dict[str, ast.expr]) -> Iterator[dict[str, ast.expr]]:
    """The call's arguments by parameter name; one binding per alternative of a ``*TABLE[key]`` argument."""
    alternatives: list[list[ast.expr]] = [[]]
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            value = arg.value
            if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
                table = constants.get(value.value.id)
                options = table.values if isinstance(table, ast.Dict) else []
            else:
                named = constants.get(value.id) if isinstance(value, ast.Name) else None
                options = [named] if named is not None else []
            tuples = [o.elts for o in options if isinstance(o, ast.Tuple)]
            alternatives = [prefix + list(t) for prefix in alternatives for t in tuples] if tuples else []
        else:
            alternatives = [[*prefix, arg] for prefix in alternatives]
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    for args in alternatives:
        bound = dict(maker.defaults)
        bound.update(zip(maker.positional, args, strict=False))
        bound.update({k: v for k, v in keywords.items() if k in maker.keywords})
        yield bound


def _literal(node: ast.expr | None, constants: dict[str, ast.expr]) -> object:
    if isinstance(node, ast.Name) and node.id in constants:
        node = constants[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    return ELLIPSIS


def _text(node: ast.expr | None, constants: dict[str, ast.expr]) -> str:
    """A detail as a reader sees it: literal parts kept, what is filled in at run time as ``…``."""
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else _text(v.value, constants)
                       if isinstance(v, ast.FormattedValue) and not v.format_spec else ELLIPSIS for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left, constants) + _text(node.right, constants)
    value = _literal(node, constants)
    return value if isinstance(value, str) else ELLIPSIS


def _read(maker: _Maker, bound: dict[str, ast.expr], constants: dict[str, ast.expr]) -> dict[str, object]:
    values: dict[str, object] = dict(maker.fixed)
    for name in FIELDS:
        param = maker.carried.get(name, name)
        if param in bound:
            values[name] = (_text if name.startswith("detail") else _literal)(bound[param], constants)
    if maker.status_table is not None and isinstance(values.get("code"), str):
        values["status"] = maker.status_table.get(str(values["code"]), ELLIPSIS)
    return values


class _Catalogue:
    def __init__(self) -> None:
        self.modules = _modules()
        self.makers: dict[str, _Maker] = {}
        self.entries: dict[str, list[tuple[dict[str, object], str]]] = {}
        self.unresolved: list[str] = []
        self._learn_makers()
        for module in self.modules:
            self._scan(module)

    def _learn_makers(self) -> None:
        classes = {node.name: (node, m) for m in self.modules for node in ast.walk(m.tree)
                   if isinstance(node, ast.ClassDef)}
        functions = {node.name: node for m in self.modules for node in m.tree.body
                     if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS}
        for name, fixed in FUNCTIONS.items():
            self.makers[name] = _signature(functions[name], method=False)
            self.makers[name].fixed.update(fixed)
        pending = dict(classes)
        while True:
            ready = [n for n, (c, _) in pending.items()
                     if n in ROOTS or any(_name(b) in self.makers for b in c.bases)]
            if not ready:
                break
            for name in ready:
                node, module = pending.pop(name)
                parent = next((self.makers[b] for b in map(_name, node.bases) if b in self.makers), None)
                self.makers[name] = self._maker_of(node, module, parent, ROOTS.get(name, {}))

    def _maker_of(self, node: ast.ClassDef, module: _Module, parent: _Maker | None,
                  fixed: dict[str, object]) -> _Maker:
        init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
        if init is None:
            assert parent is not None
            maker = _Maker(parent.positional, parent.keywords, parent.defaults, dict(parent.fixed),
                           dict(parent.carried), parent.status_table)
        else:
            maker = _signature(init, method=True)
            maker.fixed = dict(parent.fixed) if parent else {}
            for stmt in ast.walk(init):
                if isinstance(stmt, ast.Call) and isinstance(stmt.func, ast.Attribute) and \
                        stmt.func.attr == "__init__" and parent is not None:
                    for bound in _bind(stmt, parent, module.constants):
                        for key in FIELDS:
                            value = bound.get(parent.carried.get(key, key))
                            if isinstance(value, ast.Name) and value.id in maker.keywords:
                                maker.carried[key] = value.id
                            elif key.startswith("detail") and value is not None:
                                maker.fixed[key] = _text(value, {**module.constants, **maker.defaults})
                            elif isinstance(value, ast.Constant):
                                maker.fixed[key] = value.value
                if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Attribute) and t.attr in ("status", "http_status") for t in stmt.targets):
                    value = stmt.value
                    if isinstance(value, ast.Name) and value.id in maker.keywords:
                        maker.carried["status"] = value.id
                    elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
                        table = module.constants.get(value.value.id)
                        if isinstance(table, ast.Dict):
                            maker.status_table = {str(_literal(k, {})): int(str(_literal(v, {})))
                                                  for k, v in zip(table.keys, table.values, strict=True) if k}
            maker.carried.setdefault("code", "code")
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "status"
                                                    for t in stmt.targets):
                maker.fixed["status"] = _literal(stmt.value, {})
        maker.fixed.update(fixed)
        return maker

    def _scan(self, module: _Module) -> None:
        def visit(node: ast.AST, scope: list[ast.AST]) -> None:
            if isinstance(node, ast.Call):
                self._call(node, module, scope)
            inner = [*scope, node] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                else scope
            for child in ast.iter_child_nodes(node):
                visit(child, inner)

        visit(module.tree, [])

    def _call(self, call: ast.Call, module: _Module, scope: list[ast.AST]) -> None:
        name = _name(call.func)
        maker = self.makers.get(name or "")
        if maker is None or (isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"):
            return
        where = f"{module.path}:{call.lineno}"
        bindings = list(_bind(call, maker, module.constants))
        if not bindings:
            self.unresolved.append(f"{where} {ast.unparse(call)[:80]}")
        for bound in bindings:
            values = _read(maker, bound, module.constants)
            code_node = bound.get(maker.carried.get("code", "code"))
            code = values.get("code")
            if isinstance(code, str) and code != ELLIPSIS:
                self.entries.setdefault(code, []).append((values, where))
            elif not self._forwarded(code_node, scope):
                self.unresolved.append(f"{where} {ast.unparse(call)[:80]}")

    def _forwarded(self, node: ast.expr | None, scope: list[ast.AST]) -> bool:
        """A code passed on (``exc.code``, or a parameter of a refusal maker), catalogued where it was chosen."""
        if isinstance(node, ast.Attribute) and node.attr == "code":
            return True
        owners = {s.name for s in scope if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
        if owners & FORWARDERS:
            return True
        return isinstance(node, ast.Name) and node.id == "code" and bool(owners & set(self.makers))


@cache
def _catalogue() -> _Catalogue:
    return _Catalogue()


def unresolved() -> list[str]:
    """Calls of a refusal whose code the catalogue cannot read (``file:line source``); should be none."""
    return list(_catalogue().unresolved)


def _articles_of(code: str, found: list[str]) -> tuple[str, ...]:
    if code == "ineligible":  # the failed rules' articles, joined at run time
        from api.domain.staff.eligibility import ELIGIBILITY

        return tuple(dict.fromkeys(rule.article for rule in ELIGIBILITY))
    return tuple(dict.fromkeys(a for a in found if a != ELLIPSIS))


@cache
def error_codes() -> tuple[ErrorCode, ...]:
    """Every code, sorted, with the statuses it is answered with and the articles it cites."""
    sites = {code: list(found) for code, found in _catalogue().entries.items()}
    for status, (code, zh, en) in HTTP_CODES.items():
        sites.setdefault(code, []).append(({"status": status, "detail_zh": zh, "detail_en": en}, "api/errors.py"))
    out = []
    for code, found in sorted(sites.items()):
        values = [v for v, _ in found]
        statuses = sorted({int(str(v.get("status", 422))) for v in values if str(v.get("status", 422)).isdigit()})
        articles = [str(v["article"]) for v in values if isinstance(v.get("article"), str)]
        # The wording of the service's edge where it has one, else the site with least filled in at run time.
        best = min(found, key=lambda f: (str(f[0].get("detail_en", ELLIPSIS)) == ELLIPSIS,
                                         not f[1].startswith(EDGE),
                                         str(f[0].get("detail_en", ELLIPSIS)).count(ELLIPSIS),
                                         -len(str(f[0].get("detail_en", "")))))[0]
        out.append(ErrorCode(code=code, statuses=tuple(statuses), articles=_articles_of(code, articles),
                             detail_zh=str(best.get("detail_zh", ELLIPSIS)),
                             detail_en=str(best.get("detail_en", ELLIPSIS)),
                             sources=tuple(sorted({w for _, w in found}))))
    return tuple(out)


def by_code() -> dict[str, ErrorCode]:
    return {e.code: e for e in error_codes()}

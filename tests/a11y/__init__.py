"""Automated accessibility checks: axe-core from the npm registry (tests/a11y/package.json, installed by
scripts/setup.sh with `npm ci`), injected into a page that Playwright drives, WCAG 2.2 A and AA rules."""

import os
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _axe_source() -> str:
    if not AXE.is_file():
        reason = "axe-core not installed: npm ci --prefix tests/a11y (scripts/setup.sh does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """The violations of the page as it stands, at the given impacts: [{id, impact, help, nodes: [html...]}]."""
    # Evaluated through the DevTools protocol, not as a <script> tag: a page whose Content-Security-Policy
    # allows only its own scripts (the phone app's) would refuse an injected tag.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = cast("dict[str, Any]", page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    ))
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["html"][:200] for n in v["nodes"][:5]]}
        for v in result["violations"] if v["impact"] in impacts
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical violation on the page as it stands."""
    found = axe_violations(page)
    assert not found, f"{page.url}: " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} {v['nodes']}"
                                                   for v in found)

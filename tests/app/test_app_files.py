"""The files of the phone app as the server hands them out: from this origin only, one version for all, the
service worker scoped to /app/, nothing else reachable through the app's paths."""

import io
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from api.pages.phone_app import ROOT, Shell, shell


def test_shell_manifest_worker_and_catalogue_are_served_with_a_strict_policy(client: TestClient) -> None:
    r = client.get("/app", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "http" not in csp
    # Nothing the page names comes from another origin.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    worker = client.get("/app/sw.js")
    assert worker.headers["service-worker-allowed"] == "/app/" and worker.headers["cache-control"] == "no-cache"
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", worker.text).group(1))  # type: ignore[union-attr]
    assert "/app/" in assets and "/app/js/main.js" in assets and "/app/manifest.webmanifest" in assets
    for path in assets:
        assert client.get(path).status_code == 200, path
    catalogue = client.get("/app/catalogue.json").json()
    assert catalogue["duties"]["inspection"]["assisted"] is True
    assert catalogue["duties"]["assigned"]["requires"] == "assignment_ref"
    assert catalogue["forbidden"]["fine_quota"]["article"] == "第十九条（一）"


def test_icons_are_pngs_of_their_stated_sizes_and_the_maskable_one_is_opaque(client: TestClient) -> None:
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    for entry in manifest.json()["icons"]:
        with Image.open(io.BytesIO(client.get(entry["src"]).content)) as img:
            assert f"{img.width}x{img.height}" == entry["sizes"]
            if entry["purpose"] == "maskable":
                # The safe zone's outside is the background colour, not transparency.
                assert img.mode == "RGB"


def test_only_the_apps_own_files_are_served(client: TestClient) -> None:
    for path in ("/app/../api/main.py", "/app/js/../../pages/phone_app.py", "/app/js/nothing.js", "/app/sw.js.bak",
                 "/app/%2e%2e/settings.py", "/app/icons/icon-64.png"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_changed_file_changes_the_version_the_worker_caches(tmp_path: Path) -> None:
    root = ROOT
    copy = tmp_path / "app"
    for path in root.rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    before = Shell(copy)
    assert before.version == shell().version
    (copy / "app.css").write_text((copy / "app.css").read_text() + "\n/* changed */\n")
    after = Shell(copy)
    assert after.version != before.version
    assert after.version.encode() in after.worker and before.version.encode() not in after.worker


def test_the_app_stays_small() -> None:
    sizes = shell().sizes()
    code = sum(n for name, n in sizes.items() if name.endswith((".js", ".css", ".html")))
    # Everything a phone downloads once to work offline, icons included, well under a slow page's weight.
    assert code < 80_000, sizes
    assert sum(sizes.values()) < 100_000, sizes

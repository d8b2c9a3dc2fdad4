"""Drive the system's headless Chromium from tests: a page's screenshot and DOM, as a phone would see it.

No driver library: the browser's own command line is enough for a static page, and it is what a Debian host
ships. Each launch gets a fresh profile and a hard time limit; on timeout the whole process group is killed,
since Chromium forks helpers that would outlive a killed wrapper script.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

TIMEOUT_S = 60.0
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The browser's path; skips the test without one, but fails it on CI, where a skip would hide a gap."""
    path = chromium_path()
    if path is None:
        reason = "chromium not installed: apt-get install chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _run(args: list[str], timeout: float) -> str:
    browser = require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [browser, *_FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(
                f"chromium did not finish within {timeout:.0f} s: {' '.join(args)}"
            ) from None
        if proc.returncode != 0:
            tail = err.decode(errors="replace")[-2000:]
            raise AssertionError(f"chromium exited with {proc.returncode}: {tail}")
        return out.decode("utf-8", errors="replace")


def screenshot(
    url: str, out_png: Path, width: int = 390, height: int = 844, timeout: float = TIMEOUT_S
) -> Path:
    """A PNG of the first `width` x `height` pixels of the page, in a window that wide."""
    out_png.parent.mkdir(parents=True, exist_ok=True)
    out_png.unlink(missing_ok=True)
    _run([f"--screenshot={out_png}", f"--window-size={width},{height}", url], timeout)
    if not out_png.is_file():
        raise AssertionError(f"chromium wrote no screenshot for {url}")
    return out_png


def dump_dom(url: str, timeout: float = TIMEOUT_S) -> str:
    """The page's DOM once loaded, serialised as HTML."""
    return _run(["--dump-dom", "--virtual-time-budget=2000", url], timeout)

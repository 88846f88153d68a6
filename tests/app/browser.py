"""Helpers for the real-browser test: start the app with `mnas app` on a free loopback port,
and drive Debian's chromium through Playwright (never a downloaded browser)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/mnas-shots")  # screenshots the tests leave for a person to look at
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(runs_dir: Path, sample_dir: Path, log: Path, timeout_s: float = 90):
    """Yield the base URL of a freshly started app; stop it (and only it) afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "mnas_core", "app", "--port", str(port), "--runs-dir",
           str(runs_dir), "--sample-dir", str(sample_dir)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        # Its own session: the app and any search it spawned stop together.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script and drawn its charts."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms,
                           state="attached")
    page.wait_for_timeout(800)  # plotly draws after the script finishes


def screenshot_full(page, path: Path, width: int = 1400) -> None:
    """Streamlit scrolls inside its main container, so a 'full page' screenshot needs a
    viewport as tall as that container's content."""
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": width, "height": min(max(int(height) + 40, 800), 6000)})
    page.wait_for_timeout(700)  # charts re-layout to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 1000})


def tables_too_wide(page, count: int, timeout_ms: int = 30_000) -> list[tuple[int, int]]:
    """Wait for `count` data tables (st.dataframe / st.data_editor) and return (content
    width, visible width) of each one that scrolls sideways: a column off-screen or cut."""
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=stDataFrame] "
                           f".dvn-scroller').length >= {count}", timeout=timeout_ms)
    sizes = page.evaluate("() => Array.from(document.querySelectorAll("
                          "'[data-testid=stDataFrame] .dvn-scroller'))"
                          ".map(e => [e.scrollWidth, e.clientWidth])")
    return [(w, v) for w, v in sizes if w > v + 1]


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """Yield (page, errors) in Debian's headless chromium: `errors` collects the page's
    JavaScript errors, for a test to assert there were none."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            browser.close()

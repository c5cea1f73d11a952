"""Headless Chromium for the HTML pages: screenshots (for docs) and the browser tests.

Drives the system's Chromium (Debian: ``apt-get install chromium``) through playwright's Python
package, which talks to the browser over its DevTools protocol: it needs no downloaded browser
of its own, it intercepts every request the page makes (``page.route``), and it reports console
messages and page errors. Nothing here is imported by ``viz.html``: writing a page needs no
browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

INSTALL_HINT = (
    "needs Chromium and playwright: apt-get install chromium chromium-driver && "
    "pip install playwright"
)

# A closed network refuses Chromium's own background connections; these keep it quiet.
# (playwright adds --headless itself.)
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find_chromium() -> str | None:
    """Path of a Chromium binary: $UNMASK_CHROMIUM, else chromium / chromium-browser on PATH."""
    env = os.environ.get("UNMASK_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing() -> str | None:
    """None when a browser can be driven here, else what is missing (one line, how to install)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed; " + INSTALL_HINT
    if find_chromium() is None:
        return "Chromium is not installed; " + INSTALL_HINT
    return None


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (a playwright ``Browser``) with a fresh profile, closed on exit."""
    from playwright.sync_api import sync_playwright

    path = find_chromium()
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="unmask-chromium-") as profile:
        with sync_playwright() as p:
            # launch_persistent_context would keep the profile; a plain launch makes its own
            # fresh one, and the temporary folder is the browser's cache and crash dumps.
            browser = p.chromium.launch(
                executable_path=path,
                args=[
                    *CHROMIUM_ARGS,
                    f"--disk-cache-dir={profile}/cache",
                    f"--crash-dumps-dir={profile}/crash",
                ],  # fmt: skip
            )
            try:
                yield browser
            finally:
                browser.close()


def screenshot(
    html: str | os.PathLike,
    png: str | os.PathLike,
    *,
    clicks: Sequence[str] = (),
    keys: Sequence[str] = (),
    hover: str | None = None,
    width: int = 1200,
    height: int = 860,
    full_page: bool = True,
) -> Path:
    """Open ``html`` from disk, click the CSS selectors ``clicks`` in turn, press ``keys``
    (playwright key names: "End", "ArrowLeft"), hover ``hover``, and write a PNG of the page.
    Returns the PNG's path."""
    url = Path(html).resolve().as_uri()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.route("**/*", lambda route: route.continue_() if route.request.url == url
                   else route.abort())  # fmt: skip
        page.goto(url)
        for selector in clicks:
            page.click(selector)
        for key in keys:
            page.keyboard.press(key)
        if hover:
            page.hover(hover)
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=full_page)
    return Path(png)

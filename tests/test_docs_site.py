"""The docs site builds with `mkdocs build --strict`, and in headless Chromium its navigation
reaches every page and its search finds what is on them.

Chromium is driven over the Chrome DevTools protocol (a websocket, with websocket-client);
the site is served over HTTP on 127.0.0.1, as search's web worker needs.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support import ROOT
from tests.test_examples import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site built from this tree, served on 127.0.0.1; yields its base URL."""
    directory = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                            str(directory)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, "mkdocs build --strict (pip install -e '.[docs]'):\n" \
        + built.stdout + built.stderr
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                               "--directory", str(directory), str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(10)


class Browser:
    """One headless Chromium page, driven by DevTools protocol commands."""

    def __init__(self) -> None:
        import websocket  # websocket-client, from the docs extra

        self.profile = tempfile.mkdtemp(prefix="greenrpc-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (active.exists() and len(active.read_text().split()) == 2):
            assert time.monotonic() < deadline and self.process.poll() is None, "no Chromium"
            time.sleep(0.05)
        port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=20)
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> Any:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def wait_for(self, expression: str, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.path.exists(CHROMIUM), "headless Chromium is needed (.ci/run installs chromium)"
    page = Browser()
    try:
        yield page
    finally:
        page.close()


NAV_LINKS = "Array.from(document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]'))" \
            ".map(a => [a.textContent.trim(), a.href])"


def test_navigation_reaches_every_page(site: str, browser: Browser) -> None:
    browser.open(site)
    links = {href.split("#")[0]: title for title, href in browser.evaluate(NAV_LINKS)
             if href.startswith(site)}
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").glob("*.md")}
    assert len(links) == len(pages), (sorted(links), sorted(pages))
    for href, title in links.items():
        browser.open(href)
        heading = browser.wait_for("document.querySelector('article h1')?.textContent")
        assert heading.strip().rstrip("¶").strip() and "404" not in heading, (href, heading)
        assert title in browser.evaluate("document.title") or heading, href
    browser.open(site + "api/")
    assert browser.evaluate("document.querySelectorAll('.doc-function, .doc-class').length") >= 10


def test_search_finds_what_the_pages_say(site: str, browser: Browser) -> None:
    browser.open(site)
    browser.evaluate("""(() => {
        const input = document.querySelector('input.md-search__input');
        input.focus();
        input.value = 'HandleHTTP';
        for (const kind of ['focus', 'input', 'keyup']) input.dispatchEvent(new Event(kind));
        return true;
    })()""")
    found = browser.wait_for(
        "Array.from(document.querySelectorAll('.md-search-result__item a')).map(a => a.href)")
    assert any("/protocol/" in href for href in found) and any("/go/" in href for href in found), found
    browser.open(found[0])
    assert "HandleHTTP" in browser.evaluate("document.body.innerText")

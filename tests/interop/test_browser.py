"""The /debug/rpc page loaded in headless Chromium: it renders, and its DOM lists the services."""
from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

import greenrpc
from tests.support import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(CHROMIUM is None, reason="needs the chromium command")]


class Services(HTMLParser):
    """Collects the text of <h3 class="service"> headings and of method signature cells."""

    def __init__(self) -> None:
        super().__init__()
        self.services: list[str] = []
        self.signatures: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h3" and ("class", "service") in attrs:
            self._into = self.services
        elif tag == "td" and ("font", "fixed") in attrs:
            self._into = self.signatures

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._into.append(data.strip())
            self._into = None


def chromium(tmp_path: Path, *args: str) -> str:
    done = run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", *args], timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_debug_page_in_headless_chromium(address: str, tmp_path: Path) -> None:
    with greenrpc.dial(address) as client:
        client.call("Arith.Multiply", {"A": 1, "B": 2})
    url = f"http://{address}/debug/rpc"
    page = Services()
    page.feed(chromium(tmp_path, "--dump-dom", url))
    assert page.services == ["Service Arith", "Service Calc.v1", "Service Echo", "Service Slow"]
    assert "Multiply(services.ArithRequest, *services.ArithResponse) error" in page.signatures
    screenshot = tmp_path / "debug.png"
    chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1000,700", url)
    image = screenshot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 10_000  # not a blank page

"""Fixtures of the chat-room tests: the app on a free port, headless Debian chromium (no download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Every reply names other roles, so a director reading any of them (JSON or not) finds names.
SCRIPT = [
    "Tomas, fetch the spare lamp from the cellar, quick!",
    "I have the lamp here. Ines, can you see the ship from the gallery?",
    "Rook, was that horn your ship? Mira wants the truth.",
    "Aye. Mira, the Esperanza is out there, and she carries more than fish.",
]


def scripted_llm(replies: list[str] | None = None, delay: float = 0.02) -> dict[str, Any]:
    """A scripted model that streams word by word (the config travels to Ray actors as is)."""
    return {
        "model_server": "scripted",
        "replies": [{"text": t, "chunk_delay_s": delay} for t in (replies or SCRIPT)],
        "cycle": True,
    }


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def port() -> int:
    return free_port()

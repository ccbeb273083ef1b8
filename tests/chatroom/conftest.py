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


# --- a cast served over real HTTP: each role answers its own lines, the director reads the room ----
CAST_LINES = {
    "Mira": [
        "Tomas, fetch the spare lamp from the cellar, quick!",
        "Then we light the old oil lamp by hand. Ines, keep your eyes on that ship.",
    ],
    "Tomas": [
        "I have the lamp here. Ines, can you see the ship from the gallery?",
        "The radio is dead too. Rook, do you know that ship?",
    ],
    "Ines": ["I see lights to the north. Rook, is that your ship?"],
    "Rook": [
        "Aye, the Esperanza. Tomas, she carries more than fish.",
        "I swam for an hour to get here. Ask me no more, Tomas.",
    ],
}


def cast_handler(lines: dict[str, list[str]] | None = None, delay: float = 0.03, director: str = "follow") -> Any:
    """A FakeOpenAIServer handler: characters speak their lines in turn. The director
    (``director='follow'``) names whoever the last speaker addressed (``{"next_speakers": [...]}``)
    or answers garbage when nobody was; ``'garbage'``: always words naming nobody; ``'two'``:
    always two characters other than the last speaker (it never hands the turn over)."""
    import itertools
    import json
    import re
    import threading

    from msagent.testing import FakeReply

    lines = lines or CAST_LINES
    turns = {role: itertools.cycle(texts) for role, texts in lines.items()}
    lock = threading.Lock()

    def handle(body: dict[str, Any]) -> FakeReply:
        messages = body["messages"]
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        last = messages[-1]["content"]
        if "You direct a play" in system:
            said = re.findall(r'^(\w+) says: "(.*)"$', last, re.M)
            speaker = said[-1][0] if said else ""
            if director == "two":
                named = [r for r in lines if r != speaker][:2]
                return FakeReply(text=json.dumps({"next_speakers": named}))
            if said and director == "follow":
                named = [r for r in lines if r != speaker and re.search(rf"\b{r}\b", said[-1][1])]
                if named:
                    return FakeReply(text=json.dumps({"next_speakers": named[:1]}))
            return FakeReply(text="The storm is loud tonight.")  # not JSON, names nobody
        match = re.match(r"You are (\w+)\b", system)
        role = match.group(1) if match else ""
        with lock:
            text = next(turns[role]) if role in turns else "..."
        return FakeReply(text=text, chunk_delay_s=delay)

    return handle


def openai_llm(base_url: str) -> dict[str, Any]:
    return {"model_server": "openai", "api_base": base_url, "model": "fake-model", "api_key": "test", "timeout": 10, "max_retries": 0}

"""The room in a real browser: headless chromium drives the Gradio app on a scripted model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from apps.chatroom.server import start
from apps.chatroom.stories import all_stories
from msagent.testing import FakeOpenAIServer
from tests.chatroom.conftest import cast_handler, openai_llm

# In-process runtime: on Ray the same test passes but takes ~80 s here (a dozen actors per session
# on a busy 2-core machine); the Ray room itself is covered by test_room.py.
pytestmark = [pytest.mark.browser]

SAY_ENABLED = "#say textarea:not([disabled])"


# Records every text each bubble showed, to see replies grow in the page as tokens arrive, and
# whether the input box was ever open while a reply was streaming (a cursor shows in its bubble).
WATCH_BUBBLES = """() => {
  window.__bubbles = [];
  window.__streaming = {seen: 0, open: 0};
  const seen = () => {
    document.querySelectorAll('#room .msg').forEach((m, i) => {
      const b = m.querySelector('.bubble');
      const runs = (window.__bubbles[i] = window.__bubbles[i] || {role: m.dataset.role, texts: []});
      const text = b.innerText.trim();
      if (runs.texts[runs.texts.length - 1] !== text) runs.texts.push(text);
    });
    if (document.querySelector('#room .cursor')) {
      window.__streaming.seen += 1;
      if (!document.querySelector('#say textarea').disabled) window.__streaming.open += 1;
    }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                     attributes: true});
}"""


def _messages(page: Any) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "#room .msg", "els => els.map(e => [e.dataset.role, e.querySelector('.bubble').innerText])"
    )


def test_pick_a_story_and_a_role_talk_in_turn(chromium: Any, port: int, artifacts: Path) -> None:
    server = FakeOpenAIServer(handler=cast_handler(delay=0.05)).start()
    running = start(all_stories(), openai_llm(server.base_url), remote=False, port=port, max_rounds=2)
    try:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(running.url)
        page.click("#story-lighthouse")
        page.wait_for_selector("#room-page", state="visible")

        # play Ines; Mira opens
        page.click("#you-play input")
        page.locator("#you-play [role=option]", has_text="Ines").click()
        assert page.input_value("#you-play input") == "Ines"
        assert page.is_disabled("#say textarea")

        page.evaluate(WATCH_BUBBLES)
        page.click("#start")
        page.wait_for_selector('#room .msg[data-role="Mira"]')
        page.wait_for_selector(SAY_ENABLED)  # the director (or the round cap) handed the turn over
        before = _messages(page)
        assert before[0][0] == "Mira" and before[0][1].startswith("Tomas, fetch the spare lamp")
        assert "Ines" not in [role for role, _ in before], "nobody speaks for the user"
        assert "Your turn" in page.inner_text("#status")

        # the opener's reply grew in the page token by token, under its name and avatar
        runs = page.evaluate("window.__bubbles")
        opening = [t for t in runs[0]["texts"] if t]
        assert runs[0]["role"] == "Mira" and len(opening) >= 3, opening
        assert all(b.startswith(a) for a, b in zip(opening, opening[1:], strict=False)), opening
        assert opening[-1] == before[0][1]
        first = page.locator("#room .msg").first
        assert first.locator(".name").inner_text() == "Mira"
        assert (first.locator("img").get_attribute("src") or "").startswith("data:image/svg+xml;base64,")

        page.fill("#say textarea", "@Rook where did you really come from?")
        page.press("#say textarea", "Enter")
        page.wait_for_selector('#room .msg[data-role="Ines"]')
        page.wait_for_selector(SAY_ENABLED)
        streaming = page.evaluate("window.__streaming")
        assert streaming["seen"] > 0 and streaming["open"] == 0, f"input is locked while the others speak: {streaming}"
        after = _messages(page)
        mine = [i for i, (role, _) in enumerate(after) if role == "Ines"]
        assert after[mine[0]][1] == "@Rook where did you really come from?"
        assert after[mine[0] + 1][0] == "Rook", "an @-mention makes the named role answer next"
        assert after[mine[0] + 1][1].startswith("Aye, the Esperanza")
        # round-robin would pick Mira after Rook; the director follows Rook's words instead
        assert after[mine[0] + 2][0] == "Tomas", "Rook addressed Tomas, and the director chose him"
        assert all(text.strip() for _, text in after)

        # streaming: the bubbles filled chunk by chunk, and the cursor is gone once done
        assert page.locator("#room .cursor").count() == 0
        shot = artifacts / "chatroom.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        # a second browser session gets its own room; closing its tab closes that room
        other = chromium.new_page()
        other.goto(running.url)
        other.click("#story-bakery")
        other.click("#start")
        other.wait_for_selector("#room .msg")  # the bakery cast has no lines: '...' over HTTP
        assert len(running.app.rooms) == 2
        prefixes = {room.prefix for room in running.app.rooms.values()}
        assert len(prefixes) == 2, "each session has its own agents and Environment"
        other.close()
        deadline = time.monotonic() + 20
        while len(running.app.rooms) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(running.app.rooms) == 1, "the closed tab's room is cleaned up"

        # restart clears the room; back returns to the list and the session's room is closed
        page.click("#restart")
        page.wait_for_selector("#say textarea[disabled]")
        page.wait_for_selector(SAY_ENABLED)
        assert "Ines" not in [role for role, _ in _messages(page)], "a restart starts an empty room"

        # the user opens: the turn is theirs at once, nobody speaks first, the topic is offered
        page.click("#opener input")
        page.locator("#opener [role=option]", has_text="Ines").click()
        page.fill("#topic textarea", "Who rang the bell at midnight?")
        page.click("#restart")
        page.wait_for_function("document.querySelector('#say textarea').value.startsWith('Who rang the bell')")
        page.wait_for_selector(SAY_ENABLED)
        assert _messages(page) == []
        page.press("#say textarea", "Enter")
        page.wait_for_selector('#room .msg[data-role="Ines"]')
        page.wait_for_selector(SAY_ENABLED)
        opened = _messages(page)
        assert opened[0] == ["Ines", "Who rang the bell at midnight?"]
        assert len(opened) >= 2 and opened[1][0] != "Ines", "the others answer the user's opening"
        page.click("#back")
        page.wait_for_selector("#story-page", state="visible")
        deadline = time.monotonic() + 10
        while running.app.rooms and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running.app.rooms
    finally:
        running.stop()
        server.stop()

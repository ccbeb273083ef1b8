"""Bring your own model, story and transcript, in a real browser (headless Debian chromium).

The page picks a fake OpenAI-compatible server as its model (with a key), a story is written in the
form (bad input first: messages next to the fields), two turns are played, both transcript files
are downloaded and read, and the JSONL one is reopened and continued. Screenshots of the new pages
go to test-artifacts/ (docs/screenshots/ with MSAGENT_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.chatroom.server import start
from apps.chatroom.stories import all_stories
from msagent.testing import FakeOpenAIServer
from tests.chatroom.conftest import cast_handler, scripted_llm

pytestmark = [pytest.mark.browser]

SAY_ENABLED = "#say textarea:not([disabled])"
SECRET = "sk-browser-secret-4242"
# screenshots of the new pages: into test-artifacts/, or over the ones in docs/screenshots/ with
# MSAGENT_UPDATE_SCREENSHOTS=1 (a test run does not rewrite tracked files unless asked)
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / ("docs/screenshots" if os.environ.get("MSAGENT_UPDATE_SCREENSHOTS") == "1" else "test-artifacts")
HEIST = {
    "Nova": ["Jax, the guards change shift at midnight. Are you ready?", "Pip, keep the van running."],
    "Jax": ["Nova, I can open that vault in four minutes.", "Nova, the alarm panel is older than I am."],
}


def tiny_png(path: Path) -> Path:
    """A real 2x2 PNG (an uploaded avatar)."""
    raw = b"".join(b"\x00" + b"\xff\x80\x00" * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def _messages(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#room .msg", "els => els.map(e => [e.dataset.role, e.querySelector('.bubble').innerText])"
    )


def _visible_error(page: Any, key: str) -> str:
    page.wait_for_selector(f"#err-{key}", state="visible")
    return page.inner_text(f"#err-{key}")


def test_pick_a_model_write_a_story_play_download_and_reopen(
    chromium: Any, port: int, tmp_path: Path, msagent_data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what `msagent chatroom` logs
    server = FakeOpenAIServer(handler=cast_handler(HEIST, delay=0.02)).start()
    # the app's own model is a scripted one: every reply from the fake server proves the page's pick
    running = start(all_stories(), scripted_llm(["(scripted default)"]), remote=False, port=port, max_rounds=2)
    DOCS.mkdir(parents=True, exist_ok=True)
    try:
        page = chromium.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.goto(running.url)
        page.wait_for_selector("#story-lighthouse")

        # --- the model picker: a bad form first, then the fake server with a key ------------------
        page.click("#model-panel button")
        page.locator("#m-kind label", has_text="OpenAI-compatible").click()
        page.click("#m-use")
        assert "base URL" in _visible_error(page, "base_url")
        assert "model name" in _visible_error(page, "model")
        page.fill("#m-base-url textarea, #m-base-url input", "ftp://nowhere")
        page.fill("#m-model textarea, #m-model input", "fake-model")
        page.click("#m-use")
        page.wait_for_function("document.querySelector('#err-base_url').innerText.includes('http://')")
        page.fill("#m-base-url textarea, #m-base-url input", server.base_url)
        page.fill("#m-api-key input", SECRET)
        page.click("#m-use")
        page.wait_for_function("document.querySelector('#m-message').innerText.includes('Using fake-model')")
        assert page.locator("#err-base_url").is_hidden()
        assert "fake-model via openai" in page.inner_text("#model-status")
        page.screenshot(path=str(DOCS / "chatroom-model-picker.png"))
        assert server.requests and server.requests[-1]["model"] == "fake-model"

        # --- the story form: problems next to their fields, then a good story -----------------------
        page.click("#write-story")
        page.wait_for_selector("#form-page", state="visible")
        page.click("#f-save")
        assert "title" in _visible_error(page, "title").lower()
        assert "2 to 8 characters" in _visible_error(page, "characters")
        page.fill("#f-title input, #f-title textarea", "The Museum Heist")
        page.fill("#f-setting textarea", "The city museum at midnight. The new diamond is on show behind glass.")
        page.fill("#f-topic textarea", "The guards change shift in ten minutes. Do we go now?")
        page.fill("#f-name-0 input, #f-name-0 textarea", "Nova")
        page.fill("#f-description-0 input, #f-description-0 textarea", "The planner. Cool-headed, counts every second.")
        page.fill("#f-sample-0 input, #f-sample-0 textarea", "A plan is only as good as its exit.")
        page.fill("#f-name-1 input, #f-name-1 textarea", "Two Words")
        page.fill("#f-description-1 input, #f-description-1 textarea", "The safecracker. Gruff, proud of his hands.")
        page.fill("#f-name-2 input, #f-name-2 textarea", "Pip")
        page.fill("#f-description-2 input, #f-description-2 textarea", "The driver. Young, talks too much.")
        page.click("#f-save")
        assert "One word" in _visible_error(page, "name-1")
        assert page.locator("#err-title").is_hidden() and page.locator("#err-name-0").is_hidden()
        page.screenshot(path=str(DOCS / "chatroom-story-form.png"), full_page=True)
        page.fill("#f-name-1 input, #f-name-1 textarea", "Jax")
        page.click("#f-avatar-0 input")
        page.locator("[role=option]", has_text="thief.svg").click()
        with page.expect_file_chooser() as chooser:
            page.click("#f-upload-1")
        chooser.value.set_files(str(tiny_png(tmp_path / "jax-face.png")))
        page.wait_for_function("document.querySelector('#f-avatar-1 input').value.includes('jax-face.png')")
        page.click("#f-opener input")
        page.locator("[role=option]", has_text="Jax").click()
        page.click("#f-save")
        page.wait_for_selector("#story-the-museum-heist")  # listed next to the built-ins
        assert "Saved" in page.inner_text("#story-message")
        page.screenshot(path=str(DOCS / "chatroom-stories.png"), full_page=True)

        saved = msagent_data_dir / "chatroom" / "stories" / "the-museum-heist"
        data = yaml.safe_load((saved / "story.yaml").read_text(encoding="utf-8"))["stories"][0]
        assert data["title"] == "The Museum Heist" and data["opener"] == "Jax"
        assert [r["name"] for r in data["roles"]] == ["Nova", "Jax", "Pip"]
        assert data["roles"][0]["avatar"] == "thief.svg" and data["roles"][0]["sample"].startswith("A plan")
        assert data["roles"][1]["avatar"] == "Jax.png" and (saved / "Jax.png").read_bytes().startswith(b"\x89PNG")
        assert "avatar" not in data["roles"][2]

        # --- play two turns on the picked model --------------------------------------------------
        page.click("#story-the-museum-heist")
        page.wait_for_selector("#room-page", state="visible")
        assert page.input_value("#you-play input") == "Pip" and page.input_value("#opener input") == "Jax"
        jax_avatar = page.eval_on_selector('#room-page .cast-item img[alt="Jax"]', "e => e.src")
        assert jax_avatar.startswith("data:image/png;base64,"), "the uploaded avatar shows"
        page.click("#start")
        page.wait_for_selector('#room .msg[data-role="Jax"]')
        page.wait_for_selector(SAY_ENABLED)
        first = _messages(page)
        assert first[0] == ["Jax", HEIST["Jax"][0]]
        assert all(text != "(scripted default)" for _, text in first), "the page's model answers, not the app's"
        page.fill("#say textarea", "@Nova I am parked at the back door.")
        page.press("#say textarea", "Enter")
        page.wait_for_selector('#room .msg[data-role="Pip"]')
        page.wait_for_selector(SAY_ENABLED)
        played = _messages(page)
        mine = [i for i, (role, _) in enumerate(played) if role == "Pip"]
        assert played[mine[0] + 1][0] == "Nova", "the @-mentioned character answers the second turn"
        assert {h.get("authorization") for h in server.headers} == {f"Bearer {SECRET}"}, "the page's key is used"
        page.screenshot(path=str(DOCS / "chatroom-room.png"))

        # --- download both transcripts ------------------------------------------------------------
        page.wait_for_selector("#dl-md:not([disabled])")
        with page.expect_download() as md_download:
            page.click("#dl-md")
        md = Path(md_download.value.path()).read_text(encoding="utf-8")
        with page.expect_download() as jsonl_download:
            page.click("#dl-jsonl")
        jsonl_path = tmp_path / "heist.jsonl"
        md_download.value.save_as(str(tmp_path / "heist.md"))
        jsonl_download.value.save_as(str(jsonl_path))
        rows = [json.loads(line) for line in jsonl_path.read_text(encoding="utf-8").splitlines()]
        assert md.startswith("# The Museum Heist")
        assert f"**Jax:** {HEIST['Jax'][0]}" in md and "**Pip (you):** @Nova I am parked at the back door." in md
        assert rows[0]["type"] == "room" and rows[0]["user_role"] == "Pip" and rows[0]["story"]["id"] == "the-museum-heist"
        assert rows[0]["topic"].startswith("The guards change shift") and "fake-model" in rows[0]["model"]
        said = [[r["role"], r["text"]] for r in rows[1:] if r["kind"] == "say"]
        assert said == played, "the JSONL holds the room's lines as shown"
        for text in (md, jsonl_path.read_text(encoding="utf-8")):
            assert SECRET not in text, "the key never leaves the session"

        # --- another session: its own (default) model, and the key is not offered to it -------------
        other = chromium.new_page()
        other.goto(running.url)
        other.wait_for_selector("#story-the-museum-heist")
        assert "scripted" in other.inner_text("#model-status")
        assert SECRET not in other.content()
        other.close()

        # --- reopen the JSONL and go on -----------------------------------------------------------
        page.click("#back")
        page.wait_for_selector("#story-page", state="visible")
        with page.expect_file_chooser() as chooser:
            page.click("#reopen")
        chooser.value.set_files(str(jsonl_path))
        page.wait_for_selector("#room-page", state="visible")
        page.wait_for_selector(SAY_ENABLED)
        reopened = _messages(page)
        assert reopened == played
        assert "Reopened from a saved transcript" in page.inner_text("#room")
        page.fill("#say textarea", "@Jax how long for the vault?")
        page.press("#say textarea", "Enter")
        page.wait_for_function(
            f"document.querySelectorAll('#room .msg').length > {len(played) + 1}"
        )
        page.wait_for_selector(SAY_ENABLED)
        after = _messages(page)
        assert after[len(played)] == ["Pip", "@Jax how long for the vault?"]
        assert after[len(played) + 1][0] == "Jax" and after[len(played) + 1][1] in HEIST["Jax"]
        # the reopened room's characters heard the old lines: the director read them from the story so far
        director_prompts = [m["content"] for r in server.requests for m in r["messages"] if "says:" in m["content"]]
        assert any("I am parked at the back door" in p for p in director_prompts)

        # a file that is not a transcript is refused with a message, on the story page
        page.click("#back")
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"hello": 1}\n', encoding="utf-8")
        with page.expect_file_chooser() as chooser:
            page.click("#reopen")
        chooser.value.set_files(str(bad))
        page.wait_for_function("document.querySelector('#story-message').innerText.includes('Cannot reopen')")
        assert page.is_visible("#story-page")

        # the key typed in the page was never written to a file or a log line
        assert SECRET not in caplog.text
        for root in (msagent_data_dir, running.app.files):
            for path in root.rglob("*"):
                assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path
    finally:
        running.stop()
        server.stop()

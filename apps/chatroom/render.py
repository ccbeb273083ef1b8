"""HTML for the room: story cards, the cast, and the conversation (every text escaped)."""

from __future__ import annotations

import html

from apps.chatroom.room import Line
from apps.chatroom.stories import Story

CSS = """
.gradio-container {max-width: 1180px !important; width: 100% !important; margin: auto;}
#title h1 {margin-bottom: 0;}
.story-card {border: 1px solid #d9dde3; border-radius: 14px; padding: 14px 16px; background: #fbfbfd; min-height: 170px;}
.story-card h3 {margin: 6px 0 6px; font-size: 1.1em;}
.story-card p {margin: 0; color: #4a5160; font-size: .92em; line-height: 1.35;}
.cast-row {display: flex; flex-direction: row;}
.cast-row img {display: inline-block; width: 40px; height: 40px; border-radius: 50%; margin-right: -6px; border: 2px solid #fff;}
.cast {display: flex; flex-direction: column; gap: 8px;}
.cast-item {display: flex; gap: 10px; align-items: flex-start; font-size: .9em; color: #3a3f4b;}
.cast-item img {width: 38px; height: 38px; border-radius: 50%; flex: none;}
.cast-item b {color: #1d2230;}
.cast-item.me b::after {content: "  (you)"; color: #6c5ce7; font-weight: 600;}
#room {height: 470px; overflow-y: auto; display: flex; flex-direction: column-reverse;
       border: 1px solid #d9dde3; border-radius: 14px; background: #f6f7fb; padding: 6px 12px;}
.msg {display: flex; gap: 10px; margin: 9px 0; align-items: flex-start;}
.msg img {width: 42px; height: 42px; border-radius: 50%; flex: none; box-shadow: 0 1px 2px #0002;}
.msg .bubble {background: #fff; border: 1px solid #e3e6ec; border-radius: 4px 14px 14px 14px;
              padding: 7px 12px; max-width: 78%; white-space: pre-wrap; line-height: 1.4; color: #1d2230;}
.msg .name {font-weight: 600; font-size: .82em; color: #6a7080; margin-bottom: 2px;}
.msg.me {flex-direction: row-reverse;}
.msg.me .bubble {background: #e9e5ff; border-color: #d4ccff; border-radius: 14px 4px 14px 14px;}
.msg.me .name {text-align: right;}
.cursor {display: inline-block; width: 7px; height: 1em; background: #6c5ce7; margin-left: 2px;
         vertical-align: text-bottom; animation: blink 1s steps(2) infinite;}
@keyframes blink {50% {opacity: 0;}}
.notice {text-align: center; color: #6a7080; font-size: .85em; margin: 8px 0; font-style: italic;}
.notice.error {color: #b3261e; font-style: normal; background: #fdecea; border-radius: 8px; padding: 5px 8px;}
.empty {color: #8a90a0; text-align: center; margin: auto; font-style: italic;}
#status {min-height: 1.6em; color: #4a5160;}
.field-error, .field-error * {color: #b3261e !important; font-size: 14px !important; background: transparent !important;}
.field-error {margin: 2px 8px 6px !important; padding: 0 !important;}
.field-error p {margin: 0 !important;}
.f-row {margin-bottom: 10px;}
#downloads {align-items: center;}
#downloads .prose {text-align: right; color: #6a7080;}
#story-message {min-height: 1em;}
"""


def story_card(story: Story) -> str:
    avatars = "".join(
        f'<img src="{story.avatar_uri(r.name)}" alt="{html.escape(r.name)}" title="{html.escape(r.name)}">'
        for r in story.roles
    )
    names = ", ".join(html.escape(r.name) for r in story.roles)
    return (
        f'<div class="story-card"><div class="cast-row">{avatars}</div>'
        f"<h3>{html.escape(story.title)}</h3><p>{html.escape(story.setting)}</p>"
        f'<p style="margin-top:6px"><i>Cast: {names}</i></p></div>'
    )


def cast(story: Story, user_role: str | None = None) -> str:
    items = "".join(
        f'<div class="cast-item{" me" if r.name == user_role else ""}">'
        f'<img src="{story.avatar_uri(r.name)}" alt="{html.escape(r.name)}">'
        f"<div><b>{html.escape(r.name)}</b><br>{html.escape(r.description)}</div></div>"
        for r in story.roles
    )
    return (
        f"<h3 style='margin:0 0 4px'>{html.escape(story.title)}</h3>"
        f"<p style='margin:0 0 10px;color:#4a5160'>{html.escape(story.setting)}</p>"
        f'<div class="cast">{items}</div>'
    )


def transcript(story: Story | None, lines: list[Line], user_role: str | None) -> str:
    if story is None or not lines:
        body = '<div class="empty">Choose your role and who opens, then press Start.</div>'
        return f'<div id="room"><div>{body}</div></div>'
    parts = []
    for line in lines:
        if line.kind != "say":
            parts.append(f'<div class="notice {line.kind}">{html.escape(line.text)}</div>')
            continue
        mine = line.role == user_role
        cursor = '<span class="cursor"></span>' if line.streaming else ""
        name = html.escape(line.role) + (" (you)" if mine else "")
        parts.append(
            f'<div class="msg{" me" if mine else ""}" data-role="{html.escape(line.role)}">'
            f'<img src="{story.avatar_uri(line.role)}" alt="{html.escape(line.role)}">'
            f'<div><div class="name">{name}</div><div class="bubble">{html.escape(line.text)}{cursor}</div></div></div>'
        )
    # column-reverse on #room keeps the newest line in view without any script
    return f'<div id="room"><div>{"".join(parts)}</div></div>'

"""The Gradio app: a story list, then the room. Each browser session owns one ChatRoom.

Rooms are keyed by Gradio's session hash and closed (agents, Environment and Task Center killed)
when the tab goes away (``Blocks.unload``), on restart, and on "back to stories".
"""

# No `from __future__ import annotations` here: Gradio reads the `gr.Request` annotation at runtime.

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from apps.chatroom import render
from apps.chatroom.models import ModelWarmup
from apps.chatroom.room import ChatRoom, RoomOptions
from apps.chatroom.stories import Story

log = logging.getLogger(__name__)


class ChatRoomApp:
    def __init__(
        self,
        stories: list[Story],
        llm: dict[str, Any],
        *,
        remote: bool = False,
        options: RoomOptions | None = None,
    ) -> None:
        if not stories:
            raise ValueError("the chat room needs at least one story")
        self.stories = {s.id: s for s in stories}
        self.llm = llm
        self.remote = remote
        self.options = options or RoomOptions()
        self.rooms: dict[str, ChatRoom] = {}
        self._lock = threading.Lock()
        self.warmup = ModelWarmup(llm, remote).start()

    # --- sessions ---------------------------------------------------------------------------------
    def _session(self, request: gr.Request | None) -> str:
        return (request.session_hash if request is not None else None) or "anonymous"

    def _replace_room(self, session: str, room: ChatRoom | None) -> None:
        with self._lock:
            old = self.rooms.pop(session, None)
            if room is not None:
                self.rooms[session] = room
        if old is not None:
            threading.Thread(target=old.close, name="msagent-room-close", daemon=True).start()

    def end_session(self, request: gr.Request) -> None:
        self._replace_room(self._session(request), None)

    def close(self) -> None:
        with self._lock:
            rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            room.close()
        self.warmup.release()

    # --- views ------------------------------------------------------------------------------------
    def _view(self, room: ChatRoom | None, say_value: str | None = None) -> tuple[Any, ...]:
        story = room.story if room else None
        lines = room.transcript if room else []
        your_turn = room is not None and room.phase == "your_turn"
        say = gr.update(interactive=your_turn, placeholder=self._placeholder(room))
        if say_value is not None:
            say = gr.update(value=say_value, interactive=your_turn, placeholder=self._placeholder(room))
        status = room.status if room else ""
        return (
            render.transcript(story, lines, room.user_role if room else None),
            status,
            say,
            gr.update(interactive=your_turn),
        )

    @staticmethod
    def _placeholder(room: ChatRoom | None) -> str:
        if room is None or room.phase != "your_turn":
            return "Wait for your turn..."
        return f"Speak as {room.user_role} (use @Name to address someone)"

    # --- handlers ---------------------------------------------------------------------------------
    def pick_story(self, story_id: str, request: gr.Request) -> tuple[Any, ...]:
        self._replace_room(self._session(request), None)
        story = self.stories[story_id]
        names = story.role_names
        return (
            story_id,
            gr.update(visible=False),
            gr.update(visible=True),
            render.cast(story, names[-1]),
            gr.update(choices=names, value=names[-1]),
            gr.update(choices=names, value=names[0]),
            gr.update(value=story.topic),
            *self._view(None),
        )

    def start(self, story_id: str, user_role: str, opener: str, topic: str, request: gr.Request) -> Iterator[tuple]:
        story = self.stories.get(story_id)
        if story is None or user_role not in story.role_names:
            yield self._view(None)
            return
        if opener not in story.role_names:
            opener = story.role_names[0]
        room = ChatRoom(story, user_role, self.llm, remote=self.remote, options=self.options)
        self._replace_room(self._session(request), room)
        room.status = "Setting up the room..."
        yield self._view(room, say_value="")
        for _ in room.begin(opener, topic):
            if self.rooms.get(self._session(request)) is not room:
                return  # restarted or left meanwhile: a newer room owns the page now
            prefill = (topic.strip() or story.topic) if opener == user_role and room.phase == "your_turn" else None
            yield self._view(room, say_value=prefill)

    def send(self, text: str, request: gr.Request) -> Iterator[tuple]:
        room = self.rooms.get(self._session(request))
        if room is None:
            yield self._view(None, say_value=text)
            return
        first = True
        for _ in room.user_says(text or ""):
            if self.rooms.get(self._session(request)) is not room:
                return
            # clear the box once the line is accepted; keep it when it was rejected (empty)
            yield self._view(room, say_value="" if first and room.phase != "your_turn" else None)
            first = False

    def back(self, request: gr.Request) -> tuple[Any, ...]:
        self._replace_room(self._session(request), None)
        return (gr.update(visible=True), gr.update(visible=False), *self._view(None))

    def cast_for(self, story_id: str, user_role: str) -> str:
        story = self.stories.get(story_id)
        return render.cast(story, user_role) if story else ""

    def model_status(self) -> tuple[str, Any]:
        return self.warmup.status_markdown(), gr.Timer(active=self.warmup.state == "loading")

    # --- layout -----------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        with gr.Blocks(title="msagent chat room") as demo:
            story_id = gr.State("")
            gr.Markdown("# msagent chat room", elem_id="title")
            model_md = gr.Markdown(self.warmup.status_markdown(), elem_id="model-status")
            timer = gr.Timer(0.5, active=self.warmup.state == "loading")
            with gr.Column(visible=True, elem_id="story-page") as story_page:
                gr.Markdown("Pick a story. You will play one of its characters; a director decides who speaks.")
                cards = list(self.stories.values())
                story_buttons: list[tuple[gr.Button, str]] = []  # bound below, once the room page exists
                for i in range(0, len(cards), 2):
                    with gr.Row(equal_height=True):
                        for story in cards[i : i + 2]:
                            with gr.Column():
                                gr.HTML(render.story_card(story))
                                btn = gr.Button(f"Enter: {story.title}", elem_id=f"story-{story.id}", variant="primary")
                                story_buttons.append((btn, story.id))
            with gr.Column(visible=False, elem_id="room-page") as room_page, gr.Row():
                with gr.Column(scale=1, min_width=260):
                    cast_html = gr.HTML()
                    you_play = gr.Dropdown(label="You play", choices=[], elem_id="you-play")
                    opener = gr.Dropdown(label="Who opens", choices=[], elem_id="opener")
                    topic = gr.Textbox(label="Opening topic", lines=2, elem_id="topic")
                    with gr.Row():
                        start_btn = gr.Button("Start", variant="primary", elem_id="start", min_width=80)
                        restart_btn = gr.Button("Restart", elem_id="restart", min_width=80)
                    back_btn = gr.Button("Back to stories", variant="secondary", elem_id="back")
                with gr.Column(scale=3):
                    room_html = gr.HTML(render.transcript(None, [], None))
                    status = gr.Markdown("", elem_id="status")
                    with gr.Row(equal_height=True):
                        say = gr.Textbox(
                            show_label=False, placeholder="Wait for your turn...", interactive=False,
                            elem_id="say", scale=5, lines=1, max_lines=4,
                        )
                        send_btn = gr.Button("Send", variant="primary", interactive=False, elem_id="send", scale=1)

            view = [room_html, status, say, send_btn]
            for btn, sid in story_buttons:
                btn.click(
                    self._picker(sid),
                    None,
                    [story_id, story_page, room_page, cast_html, you_play, opener, topic, *view],
                )
            start_inputs = [story_id, you_play, opener, topic]
            running = [
                start_btn.click(self.start, start_inputs, view),
                send_btn.click(self.send, [say], view),
                say.submit(self.send, [say], view),
            ]
            # a restart or leaving stops whatever the old room was still streaming
            running.append(restart_btn.click(self.start, start_inputs, view, cancels=list(running)))
            back_btn.click(self.back, None, [story_page, room_page, *view], cancels=list(running))
            you_play.change(self.cast_for, [story_id, you_play], cast_html)
            timer.tick(self.model_status, None, [model_md, timer])
            demo.unload(self.end_session)
        demo.queue(default_concurrency_limit=16)  # sessions must not wait for each other
        return demo

    def _picker(self, sid: str) -> Callable[..., tuple[Any, ...]]:
        def pick(request: gr.Request) -> tuple[Any, ...]:
            return self.pick_story(sid, request)

        return pick


def launch_kwargs() -> dict[str, Any]:
    """What ``Blocks.launch`` needs for our look (Gradio 6 takes css and theme at launch)."""
    return {"css": render.CSS, "theme": gr.themes.Soft()}

"""The Gradio app: the story list (with the model picker, the story form and reopening a saved
transcript), then the room. Each browser session owns one ChatRoom and its own model choice.

Rooms are keyed by Gradio's session hash and closed (agents, Environment and Task Center killed)
when the tab goes away (``Blocks.unload``), on restart, and on "back to stories".
"""

# No `from __future__ import annotations` here: Gradio reads the `gr.Request` annotation at runtime.

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from apps.chatroom import render
from apps.chatroom.cluster import Cluster
from apps.chatroom.host import import_agents
from apps.chatroom.models import ModelWarmup, describe
from apps.chatroom.page_form import StoryForm
from apps.chatroom.page_model import ModelPanel
from apps.chatroom.prompts import scene_prefix
from apps.chatroom.remote_room import RemoteRoom
from apps.chatroom.room import ChatRoom, RoomOptions
from apps.chatroom.stories import Story
from apps.chatroom.transcript import from_jsonl, to_jsonl, to_markdown
from apps.chatroom.user_stories import check, load_user_stories, save
from msagent.errors import InvalidScenarioError

log = logging.getLogger(__name__)
Room = ChatRoom | RemoteRoom
MAX_TRANSCRIPT_BYTES = 2 * 1024 * 1024
# Ray starts after the first room's first words, or this long after the page answers: on two cores
# Ray's start (a dozen processes) beside the first room's first words slowed those by seconds.
# MSAGENT_CHATROOM_RAY_DELAY_S sets it (a deployment that wants Ray at once, the tests).
RAY_START_DELAY_S = float(os.environ.get("MSAGENT_CHATROOM_RAY_DELAY_S", "60"))


class ChatRoomApp:
    def __init__(
        self,
        stories: list[Story],
        llm: dict[str, Any],
        *,
        remote: bool = False,
        options: RoomOptions | None = None,
        story_root: Path | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        if not stories:
            raise ValueError("the chat room needs at least one story")
        self.stories = {s.id: s for s in stories}
        self.story_root = story_root  # None: <data dir>/chatroom/stories
        for story in load_user_stories(story_root):
            self.stories.setdefault(story.id, story)
        self.llm = llm
        self.remote = remote
        self.options = options or RoomOptions()
        # on Ray each room is one actor (see host.py); Ray may still be starting while the page answers
        self._own_cluster = remote and cluster is None
        self.cluster = (cluster or Cluster().start()) if remote else None
        self.rooms: dict[str, Room] = {}
        self.reopened: dict[str, Story] = {}  # per session: the story of a reopened transcript
        self._lock = threading.Lock()
        self.files = Path(tempfile.mkdtemp(prefix="msagent-chatroom-"))  # transcripts to download
        self._ray_timer: threading.Timer | None = None
        cluster = self.cluster
        before = (lambda: cluster.wait(timeout=600)) if cluster is not None else None  # noqa: E731
        self.warmup = ModelWarmup(llm, remote, before=before).start()
        # rooms are built in this process (on Ray: until a room host is ready): have their modules ready
        threading.Thread(target=import_agents, name="msagent-import-agents", daemon=True).start()

    # --- sessions ---------------------------------------------------------------------------------
    def _session(self, request: gr.Request | None) -> str:
        return (request.session_hash if request is not None else None) or "anonymous"

    def _replace_room(self, session: str, room: Room | None) -> None:
        with self._lock:
            old = self.rooms.pop(session, None)
            if room is not None:
                self.rooms[session] = room
        if old is not None:
            threading.Thread(target=old.close, name="msagent-room-close", daemon=True).start()

    def end_session(self, request: gr.Request) -> None:
        self._replace_room(self._session(request), None)
        self.reopened.pop(self._session(request), None)

    def _story(self, story_id: str, request: gr.Request | None) -> Story | None:
        extra = self.reopened.get(self._session(request))
        return extra if extra is not None and extra.id == story_id else self.stories.get(story_id)

    def start_ray_soon(self, delay_s: float = RAY_START_DELAY_S) -> None:
        """Start Ray (when this app's cluster is not started yet) after the first room's first
        words or ``delay_s``, whichever comes first; rooms opened meanwhile run in this process."""
        if self.cluster is None or self.cluster.started or self._ray_timer is not None:
            return
        self._ray_timer = threading.Timer(delay_s, self._start_ray)
        self._ray_timer.daemon = True
        self._ray_timer.start()

    def _start_ray(self) -> None:
        if self.cluster is not None and not self.cluster.started:
            log.info("starting Ray in the background")
            self.cluster.start()

    def close(self) -> None:
        if self._ray_timer is not None:
            self._ray_timer.cancel()
        with self._lock:
            rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            room.close()
        self.warmup.release()
        if self.cluster is not None and self._own_cluster:
            self.cluster.shutdown()
        shutil.rmtree(self.files, ignore_errors=True)

    def _runs_here(self) -> bool:
        """Whether a room opened now runs in this process: always without Ray; on Ray until a room
        host has been ready once (Ray takes seconds to tens of seconds to start on a busy machine,
        and the user should not wait for it: such a room stays in this process for its life)."""
        return self.cluster is None or not self.cluster.warm

    def _new_room(self, story: Story, user_role: str, llm: dict | None) -> "Room":
        llm = llm or self.llm
        if not self._runs_here():
            assert self.cluster is not None
            return RemoteRoom(story, user_role, llm, self.cluster, options=self.options)
        if self.cluster is not None:
            why = f"Ray did not start: {self.cluster.error}" if self.cluster.error else "Ray is still starting"
            log.info("a room opens in this process (%s)", why)
            if llm.get("model_server") == "local":
                llm = {**llm, "backend": "process"}  # this process's copy of the model, not the actor
        return ChatRoom(story, user_role, llm, options=self.options)

    def local_llm(self) -> dict[str, Any]:
        """What 'Local model' in the picker means: the app's model if local, else the default."""
        return self.llm if self.llm.get("model_server") == "local" else {"model_server": "local", "model": ""}

    # --- views ------------------------------------------------------------------------------------
    def _view(self, room: Room | None, say_value: str | None = None) -> tuple[Any, ...]:
        story = room.story if room else None
        lines = room.transcript if room else []
        your_turn = room is not None and room.phase == "your_turn"
        say = gr.update(interactive=your_turn, placeholder=self._placeholder(room))
        if say_value is not None:
            say = gr.update(value=say_value, interactive=your_turn, placeholder=self._placeholder(room))
        return (
            render.transcript(story, lines, room.user_role if room else None),
            room.status if room else "",
            say,
            gr.update(interactive=your_turn),
            *self._downloads(room),
        )

    def _downloads(self, room: Room | None) -> tuple[Any, Any]:
        """Both transcript files, rewritten whenever the room is at rest (not on every token)."""
        if room is None or not room.transcript:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        if room.phase == "running":
            return gr.update(), gr.update()
        base = self.files / f"chatroom-{room.story.id}-{room.prefix}"
        md, jsonl = base.with_suffix(".md"), base.with_suffix(".jsonl")
        model = describe(room.llm)
        md.write_text(to_markdown(room.story, room.user_role, room.transcript, model), encoding="utf-8")
        jsonl.write_text(to_jsonl(room.story, room.user_role, room.transcript, model, room.topic), encoding="utf-8")
        return gr.update(value=str(md), interactive=True), gr.update(value=str(jsonl), interactive=True)

    @staticmethod
    def _placeholder(room: Room | None) -> str:
        if room is None or room.phase != "your_turn":
            return "Wait for your turn..."
        return f"Speak as {room.user_role} (use @Name to address someone)"

    def _room_setup(self, story: Story, user_role: str | None = None, opener: str | None = None) -> tuple[Any, ...]:
        """The room page's left column for ``story``: cast, role, opener, topic."""
        names = story.role_names
        user_role = user_role or names[-1]
        return (
            render.cast(story, user_role),
            gr.update(choices=names, value=user_role),
            gr.update(choices=names, value=opener or story.first_speaker),
            gr.update(value=story.topic),
        )

    # --- handlers: story page ---------------------------------------------------------------------
    def pick_story(self, story_id: str, llm: dict | None, request: gr.Request) -> tuple[Any, ...]:
        self._replace_room(self._session(request), None)
        story = self.stories[story_id]
        if llm is None or llm.get("model_server") == "local":
            # while the user picks a role, not after Start; in the model copy the room will use
            self.warmup.prepare(scene_prefix(story), here=self._runs_here())
        return (story_id, gr.update(visible=False), gr.update(visible=True), *self._room_setup(story),
                *self._view(None))  # fmt: skip

    def reopen(self, path: str | None, llm: dict | None, request: gr.Request) -> Iterator[tuple]:
        """A saved JSONL transcript -> the room, where it left off; the user goes on."""
        no_change = (gr.update(),) * 3
        if not path:
            yield (*no_change, "", *(gr.update(),) * 4, *self._view(None))
            return
        try:
            size = Path(path).stat().st_size
            if size > MAX_TRANSCRIPT_BYTES:
                raise InvalidScenarioError(f"the file is {size // 1024} KB; a transcript is at most 2 MB", path=path)
            saved = from_jsonl(Path(path).read_text(encoding="utf-8"), source=Path(path).name)
        except (InvalidScenarioError, OSError, UnicodeDecodeError) as e:
            yield (*no_change, f"⚠ Cannot reopen: {e}", *(gr.update(),) * 4, *self._view(None))
            return
        # the story as this app knows it (avatars), else as the transcript carries it
        known = self.stories.get(saved.story.id)
        story = known if known is not None and known.role_names == saved.story.role_names else saved.story
        self.reopened[self._session(request)] = story
        room = self._new_room(story, saved.user_role, llm)
        self._replace_room(self._session(request), room)
        room.status = "Reopening the room..."
        pages = (story.id, gr.update(visible=False), gr.update(visible=True), "")
        yield (*pages, *self._room_setup(story, saved.user_role), *self._view(room))
        for _ in room.resume(saved.lines, saved.topic):
            yield (*pages, *(gr.update(),) * 4, *self._view(room))

    # --- handlers: room page ----------------------------------------------------------------------
    def start(
        self, story_id: str, user_role: str, opener: str, topic: str, llm: dict | None, request: gr.Request
    ) -> Iterator[tuple]:
        story = self._story(story_id, request)
        if story is None or user_role not in story.role_names:
            yield self._view(None)
            return
        if opener not in story.role_names:
            opener = story.first_speaker
        room = self._new_room(story, user_role, llm)
        self._replace_room(self._session(request), room)
        room.status = "Setting up the room..."
        yield self._view(room, say_value="")
        for _ in room.begin(opener, topic):
            if self.rooms.get(self._session(request)) is not room:
                return  # restarted or left meanwhile: a newer room owns the page now
            if self._ray_timer is not None and room.first_token_s is not None:
                self._start_ray()  # the first words are out: Ray may take the CPU now
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

    def cast_for(self, story_id: str, user_role: str, request: gr.Request) -> str:
        story = self._story(story_id, request)
        return render.cast(story, user_role) if story else ""

    # --- handlers: model --------------------------------------------------------------------------
    def model_status(self, llm: dict | None) -> tuple[str, Any]:
        if llm is not None and llm.get("model_server") != "local":
            return f"**Model:** {describe(llm)}", gr.Timer(active=False)
        return self.warmup.status_markdown(), gr.Timer(active=self.warmup.state == "loading")

    # --- layout -----------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        # no telemetry: the room runs offline, and what people type is theirs
        with gr.Blocks(title="msagent chat room", analytics_enabled=False) as demo:
            story_id = gr.State("")
            session_llm = gr.State(None)  # this session's model choice (None: the app's model)
            stories_version = gr.State(0)  # bumped when a story is saved: the list re-renders
            gr.Markdown("# msagent chat room", elem_id="title")
            model_md = gr.Markdown(self.warmup.status_markdown(), elem_id="model-status")
            timer = gr.Timer(1.0, active=self.warmup.state == "loading")
            with gr.Column(visible=True, elem_id="story-page") as story_page:
                panel = ModelPanel.build(describe(self.local_llm()))
                gr.Markdown("Pick a story. You will play one of its characters; a director decides who speaks.")
                with gr.Row():
                    write_btn = gr.Button("Write a story", elem_id="write-story", min_width=120)
                    reopen_btn = gr.UploadButton(
                        "Reopen a saved transcript (.jsonl)", file_types=[".jsonl"], elem_id="reopen", min_width=120
                    )
                story_msg = gr.Markdown("", elem_id="story-message")
                story_list = gr.Column(elem_id="story-list")
            form = StoryForm.build()
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
                        )  # fmt: skip
                        send_btn = gr.Button("Send", variant="primary", interactive=False, elem_id="send", scale=1)
                    with gr.Row(elem_id="downloads"):
                        gr.Markdown("Save the transcript:", elem_id="transcript-label")
                        dl_md = gr.DownloadButton("Markdown", elem_id="dl-md", interactive=False, size="sm", min_width=90)
                        dl_jsonl = gr.DownloadButton("JSONL (to reopen)", elem_id="dl-jsonl", interactive=False, size="sm",
                                                     min_width=90)  # fmt: skip

            view = [room_html, status, say, send_btn, dl_md, dl_jsonl]
            setup = [cast_html, you_play, opener, topic]
            pick_outputs = [story_id, story_page, room_page, *setup, *view]

            def cards(stories: list[Story]) -> None:
                for i in range(0, len(stories), 2):
                    with gr.Row(equal_height=True):
                        for story in stories[i : i + 2]:
                            with gr.Column():
                                gr.HTML(render.story_card(story))
                                btn = gr.Button(f"Enter: {story.title}", elem_id=f"story-{story.id}",
                                                variant="primary")  # fmt: skip
                                # queue=False: a quick handler answered directly, one round trip less
                                btn.click(self._picker(story.id), session_llm, pick_outputs, queue=False)

            # the stories known now are part of the page (no round trip before they show); those
            # saved while it runs are rendered below them
            known = list(self.stories)
            with story_list:
                cards([self.stories[sid] for sid in known])

                @gr.render(inputs=stories_version)
                def _added(_version: int) -> None:
                    cards([story for sid, story in self.stories.items() if sid not in known])

            # the model picker
            def use_model(kind: str, url: str, model: str, key: str, current: dict | None) -> tuple:
                llm, updates = panel.choose(self.local_llm(), kind, url, model, key)
                chosen = current if llm is None else llm
                return (chosen, self.model_status(chosen)[0], *updates)

            panel.use.click(use_model, [*panel.inputs(), session_llm], [session_llm, model_md, *panel.outputs()])

            # the story form
            write_btn.click(lambda: (gr.update(visible=False), gr.update(visible=True), ""), None,
                            [story_page, form.page, story_msg])  # fmt: skip
            form.cancel.click(lambda: (gr.update(visible=True), gr.update(visible=False)), None,
                              [story_page, form.page])  # fmt: skip
            form.save.click(self._save_story(form), [stories_version, *form.inputs()],
                            [stories_version, story_page, form.page, form.message, story_msg,
                             *form.error_outputs(), *form.reset_outputs()])  # fmt: skip

            # reopening a transcript
            reopen_btn.upload(self.reopen, [reopen_btn, session_llm],
                              [story_id, story_page, room_page, story_msg, *setup, *view])  # fmt: skip

            # the room
            start_inputs = [story_id, you_play, opener, topic, session_llm]
            running = [
                start_btn.click(self.start, start_inputs, view),
                send_btn.click(self.send, [say], view),
                say.submit(self.send, [say], view),
            ]
            # a restart or leaving stops whatever the old room was still streaming
            running.append(restart_btn.click(self.start, start_inputs, view, cancels=list(running)))
            back_btn.click(self.back, None, [story_page, room_page, *view], cancels=list(running))
            you_play.change(self.cast_for, [story_id, you_play], cast_html)
            timer.tick(self.model_status, session_llm, [model_md, timer])
            demo.unload(self.end_session)
        demo.queue(default_concurrency_limit=16)  # sessions must not wait for each other
        return demo

    def _picker(self, sid: str) -> Callable[..., tuple[Any, ...]]:
        def pick(llm: dict | None, request: gr.Request) -> tuple[Any, ...]:
            return self.pick_story(sid, llm, request)

        return pick

    def _save_story(self, form: StoryForm) -> Callable[..., tuple[Any, ...]]:
        def save_story(version: int, *values: Any) -> tuple[Any, ...]:
            draft = form.draft(values)
            story, errors = check(draft, taken_ids=set(self.stories))
            if story is None:
                keep = [gr.update() for _ in form.reset_outputs()]
                return (version, gr.update(), gr.update(), "⚠ The story is not saved yet: see the marked fields.",
                        gr.update(), *form.error_updates(errors), *keep)  # fmt: skip
            path = save(story, draft, self.story_root)
            from apps.chatroom.stories import load_stories

            self.stories[story.id] = load_stories(path)[0]  # as it will load next time (avatar paths)
            done = f"Saved **{story.title}** ({path}); it is in the list below."
            return (version + 1, gr.update(visible=True), gr.update(visible=False), "", done,
                    *form.error_updates({}), *form.reset_updates())  # fmt: skip

        return save_story

    def launch_kwargs(self) -> dict[str, Any]:
        """What ``Blocks.launch`` needs: our look (Gradio 6 takes css and theme at launch) and the
        folder of the transcripts offered for download."""
        return {**launch_kwargs(), "allowed_paths": [str(self.files)]}


def _skips_localhost_check() -> dict[str, Any]:
    """Gradio's launch checks that its own page answers with one HEAD request and a 3 s timeout,
    and gives up on the first timeout: on a busy machine (Ray starting beside it) that aborts a
    launch that was fine. The server is up when launch returns, so the check is skipped."""
    import inspect

    return {"_frontend": False} if "_frontend" in inspect.signature(gr.Blocks.launch).parameters else {}


def launch_kwargs() -> dict[str, Any]:
    return {"css": render.CSS, "theme": gr.themes.Soft(), **_skips_localhost_check()}

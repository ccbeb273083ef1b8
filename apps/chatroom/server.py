"""Start the chat room: blocking (the CLI) or in the background (tests, notebooks).

On Ray (``remote=True``) Ray starts once the page answers and the first room has its first words
(``ChatRoomApp.start_ray_soon``): on a small machine Ray starting beside them delays both. Rooms
opened before a Ray room host is ready run in this process (``ChatRoomApp._runs_here``), so nobody
waits for Ray.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apps.chatroom.cluster import Cluster
from apps.chatroom.gradio_import import skip_stub_rewrite
from apps.chatroom.room import RoomOptions
from apps.chatroom.stories import Story

if TYPE_CHECKING:
    from apps.chatroom.app import ChatRoomApp

log = logging.getLogger(__name__)


@dataclass
class RunningRoom:
    app: ChatRoomApp
    demo: Any
    url: str
    cluster: Cluster | None = None

    def stop(self) -> None:
        """Close every room and the server; stop Ray if it was started for us."""
        try:
            self.app.close()
            self.demo.close()
        finally:
            if self.cluster is not None:
                self.cluster.shutdown()


def start(
    stories: list[Story],
    llm: dict[str, Any],
    *,
    remote: bool = False,
    host: str = "127.0.0.1",
    port: int | None = None,
    max_rounds: int = 3,
    ray_address: str | None = None,
    cluster: Cluster | None = None,
    story_root: Path | None = None,
) -> RunningRoom:
    """Launch without blocking; ``stop()`` closes every room and the server (and Ray, when it
    was started here: pass ``cluster`` to keep Ray's lifetime yours)."""
    skip_stub_rewrite()  # Gradio is imported here, unless it was before (see gradio_import.py)
    from apps.chatroom.app import ChatRoomApp

    own = remote and cluster is None
    if own:
        cluster = Cluster(ray_address)  # started by the app, once the page answers
    try:
        app = ChatRoomApp(
            stories, llm, remote=remote, options=RoomOptions(max_rounds=max_rounds), story_root=story_root,
            cluster=cluster if remote else None,
        )  # fmt: skip
    except BaseException:
        if own and cluster is not None:
            cluster.shutdown()
        raise
    try:
        demo = app.build()
        demo.launch(
            server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, footer_links=[],
            **app.launch_kwargs(),
        )  # fmt: skip
    except BaseException:  # e.g. the port is taken: release the model loading in the background
        app.close()
        if own and cluster is not None:
            cluster.shutdown()
        raise
    if remote:
        app.start_ray_soon()  # a no-op when the cluster was started before
    url = getattr(demo, "local_url", None) or f"http://{host}:{port}/"
    return RunningRoom(app=app, demo=demo, url=url, cluster=cluster if own else None)


def serve(
    stories: list[Story],
    llm: dict[str, Any],
    *,
    remote: bool = True,
    host: str = "127.0.0.1",
    port: int = 7860,
    ray_address: str | None = None,
    max_rounds: int = 3,
    cluster: Cluster | None = None,
) -> None:
    """Run until interrupted, then close every room (and Ray, if it was started for us)."""
    if remote and cluster is None:
        cluster = Cluster(ray_address)  # started by the app, once the page answers
    try:
        running = start(stories, llm, remote=remote, host=host, port=port, max_rounds=max_rounds, cluster=cluster)
        log.info("chat room at %s", running.url)
        try:
            running.demo.block_thread()
        finally:
            running.stop()
    finally:
        if cluster is not None:
            cluster.shutdown()

"""Start the chat room: blocking (the CLI) or in the background (tests, notebooks)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from apps.chatroom.app import ChatRoomApp, launch_kwargs
from apps.chatroom.room import RoomOptions
from apps.chatroom.stories import Story

log = logging.getLogger(__name__)


@dataclass
class RunningRoom:
    app: ChatRoomApp
    demo: Any
    url: str

    def stop(self) -> None:
        self.app.close()
        self.demo.close()


def _ensure_ray(address: str | None) -> bool:
    """Start (or join) Ray when nobody did yet; True when we started it.

    Without an address (flag or ``RAY_ADDRESS``) a private local Ray is started: Ray's own default
    would silently join whatever cluster ``ray start`` left running on this machine."""
    import ray

    if ray.is_initialized():
        return False
    ray.init(address=address or os.environ.get("RAY_ADDRESS") or "local", include_dashboard=False, log_to_driver=False)
    return True


def start(
    stories: list[Story],
    llm: dict[str, Any],
    *,
    remote: bool = False,
    host: str = "127.0.0.1",
    port: int | None = None,
    max_rounds: int = 3,
    ray_address: str | None = None,
) -> RunningRoom:
    """Launch without blocking; ``stop()`` closes every room and the server."""
    if remote:
        _ensure_ray(ray_address)
    app = ChatRoomApp(stories, llm, remote=remote, options=RoomOptions(max_rounds=max_rounds))
    demo = app.build()
    try:
        demo.launch(
            server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, footer_links=[], **launch_kwargs()
        )
    except BaseException:  # e.g. the port is taken: release the model loading in the background
        app.close()
        raise
    url = getattr(demo, "local_url", None) or f"http://{host}:{port}/"
    return RunningRoom(app=app, demo=demo, url=url)


def serve(
    stories: list[Story],
    llm: dict[str, Any],
    *,
    remote: bool = True,
    host: str = "127.0.0.1",
    port: int = 7860,
    ray_address: str | None = None,
    max_rounds: int = 3,
) -> None:
    """Run until interrupted, then close every room (and Ray, if we started it)."""
    started_ray = _ensure_ray(ray_address) if remote else False
    try:
        running = start(stories, llm, remote=remote, host=host, port=port, max_rounds=max_rounds)
        log.info("chat room at %s", running.url)
        try:
            running.demo.block_thread()
        finally:
            running.stop()
    finally:
        if started_ray:
            import ray

            ray.shutdown()

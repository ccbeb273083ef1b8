"""``msagent.init(...)`` and what a program's AgentScope session holds.

``init(model_configs=None, project=None, name=None, logger_level="INFO")`` loads the model configs
(replacing those of an earlier ``init``) and shows the chat log (``msagent.chat``: every agent's
``speak``) on the console at ``logger_level``. The session keeps the Environments its hubs run on
(in this process, or actors when hubs have distributed participants) and the actors its
distributed agents live in; ``shutdown()`` stops them. ``transcript()`` is what went through the
hubs, oldest first.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from environment.env import Environment
from msagent.agentscope import model_configs as registry
from msagent.runtime.calls import call
from msagent.runtime.component import create_component

log = logging.getLogger(__name__)
HISTORY_LIMIT = 1_000_000  # the hubs' transcript stays whole for a long program


class Session:
    def __init__(self, name: str | None = None, project: str | None = None) -> None:
        self.name = name or "agentscope"
        self.project = project
        safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", self.name)[:40] or "agentscope"
        self.prefix = f"{safe}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._envs: list[tuple[bool, Any]] = []  # (remote, env): every hub Environment made, for the transcript
        self._free: dict[bool, list[Any]] = {False: [], True: []}
        self._actors: list[Any] = []

    def lease_hub_env(self, remote: bool) -> Any:
        """An Environment for a hub that brings none (an actor when ``remote``), free of other open
        hubs: the hub is its only traffic, so the hub broadcasts to 'all' of its enabled roles.
        Environments are reused by later hubs (an actor starts once), their logs kept whole."""
        with self._lock:
            if self._free[remote]:
                return self._free[remote].pop()
            name = f"hub-env-{len(self._envs)}"
            if remote:
                env = create_component(
                    Environment, name, remote=True, prefix_name=self.prefix, force_new=True,
                    instance_id=uuid.uuid4().hex, history_limit=HISTORY_LIMIT,
                )  # fmt: skip
                self._actors.append(env)
            else:
                env = Environment(name=f"{self.prefix}-{name}", history_limit=HISTORY_LIMIT)
            self._envs.append((remote, env))
            return env

    def release_hub_env(self, env: Any, remote: bool) -> None:
        with self._lock:
            self._free[remote].append(env)

    def envs(self) -> list[Any]:
        with self._lock:
            return [env for _, env in self._envs]

    def track(self, actor: Any) -> None:
        with self._lock:
            self._actors.append(actor)

    def close(self) -> None:
        with self._lock:
            actors, self._actors = self._actors, []
            local = [env for remote, env in self._envs if not remote]
            self._envs, self._free = [], {False: [], True: []}
        if actors:
            import ray

            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception as e:  # already gone: nothing to stop
                    log.debug("stopping %s: %s", actor, e)
        for env in local:
            env.close()


_lock = threading.Lock()
_session: Session | None = None
_console: logging.Handler | None = None


def current() -> Session:
    """This program's session (made by the first use when ``init`` was not called)."""
    global _session
    with _lock:
        if _session is None:
            _session = Session()
        return _session


def init(
    model_configs: str | Path | dict[str, Any] | list[Any] | None = None,
    project: str | None = None,
    name: str | None = None,
    logger_level: str | int = "INFO",
) -> None:
    """AgentScope's ``init``: load the model configs and show the chat log."""
    global _session
    parsed = registry.parse_model_configs(model_configs) if model_configs is not None else []
    registry.read_model_configs(parsed, clear_existing=True)
    show_chat(logger_level)
    with _lock:
        if _session is None or name is not None or project is not None:
            old, _session = _session, Session(name=name, project=project)
        else:
            old = None
    if old is not None:
        old.close()


def chat_level() -> int | None:
    """The chat log's level when ``init`` shows it on the console (else None)."""
    return logging.getLogger("msagent.chat").level if _console is not None else None


def show_chat(level: str | int) -> None:
    """Show the chat log (``msagent.chat``: every agent's ``speak``) on stdout at ``level``."""
    global _console
    chat = logging.getLogger("msagent.chat")
    chat.setLevel(level if isinstance(level, int) else str(level).upper())
    if _console is None:
        _console = logging.StreamHandler(sys.stdout)
        _console.setFormatter(logging.Formatter("%(message)s"))
        chat.addHandler(_console)
        chat.propagate = False


def shutdown() -> None:
    """Stop what the session started (hub Environments, distributed agents' actors)."""
    global _session
    with _lock:
        old, _session = _session, None
    if old is not None:
        old.close()


def transcript() -> list[dict[str, Any]]:
    """Every message that went through the session's hubs: ``{id, from, send_to, content, msg}``."""
    rows: list[dict[str, Any]] = []
    for env in current().envs():
        for message in call(env, "extract_all_history_message", None):
            fields = (message.metadata or {}).get("agentscope_msg")
            rows.append({
                "id": message.id, "from": message.sent_from or message.role, "send_to": message.send_to,
                "content": message.content, "timestamp": message.timestamp, "msg": fields,
            })  # fmt: skip
    rows.sort(key=lambda r: r["timestamp"])
    return rows

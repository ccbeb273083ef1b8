"""Which model the room uses, and loading the local one in the background with visible progress.

Any configured back-end wins (flags first, then ``DASHSCOPE_API_KEY`` / ``OPENAI_API_KEY`` /
``OPENAI_API_BASE``); with none, the room runs offline on the embedded SmolLM2 model, or on the
GGUF file given as ``--model PATH.gguf``. The page may pick another model per session (``picker``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The room is interactive: fail fast and say so rather than retrying for minutes.
ROOM_TIMEOUT_S = 30.0
ROOM_RETRIES = 1


def choose_llm(
    model_server: str | None = None,
    api_base: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """An llm config dict for every agent of the room."""
    base: dict[str, Any] = {"timeout": ROOM_TIMEOUT_S, "max_retries": ROOM_RETRIES}
    if api_key:
        base["api_key"] = api_key
    if model_server is None and model and model.endswith(".gguf"):
        model_server = "local"  # `--model PATH.gguf`: a larger local model
    if model_server == "local" or (model_server is None and api_base is None and not _configured()):
        return {**base, "model_server": "local", "model": model or ""}
    if model_server:
        cfg = {**base, "model_server": model_server, "model": model or _default_model(model_server)}
        if api_base:
            cfg["api_base"] = api_base
        return cfg
    if api_base:
        return {**base, "model_server": "openai", "api_base": api_base, "model": model or "default"}
    if os.environ.get("DASHSCOPE_API_KEY"):
        return {**base, "model_server": "dashscope", "model": model or "qwen-max"}
    return {
        **base,
        "model_server": "openai",
        "model": model or _default_model("openai"),
        **({"api_base": os.environ["OPENAI_API_BASE"]} if os.environ.get("OPENAI_API_BASE") else {}),
    }


def _configured() -> bool:
    return any(os.environ.get(v) for v in ("DASHSCOPE_API_KEY", "OPENAI_API_KEY", "OPENAI_API_BASE"))


def _default_model(server: str) -> str:
    return {"dashscope": "qwen-max", "openai": "gpt-4o-mini"}.get(server, "default")


def describe(llm: dict[str, Any]) -> str:
    if llm.get("model_server") == "local":
        model = str(llm.get("model") or "")
        return f"{Path(model).name} (local, offline)" if model else "SmolLM2-135M-Instruct (local, offline)"
    if llm.get("model_server") == "scripted":
        return "a scripted test model"
    where = f" at {llm['api_base']}" if llm.get("api_base") else ""
    return f"{llm.get('model') or 'default'} via {llm.get('model_server')}{where}"


@dataclass
class ModelWarmup:
    """Loads the local model once in a background thread: in this process (rooms that run here),
    and on Ray (``remote``) also the shared model actor once Ray is up (``before``)."""

    llm: dict[str, Any]
    remote: bool
    before: Callable[[], None] | None = None  # e.g. wait until Ray is up (it starts in the background)
    state: str = "idle"  # idle | loading | ready | failed | n/a (of the model in this process)
    detail: str = ""
    _started: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _actor_done: threading.Event = field(default_factory=threading.Event)
    _actor_ok: bool = False
    _prepared: set[tuple[str, bool]] = field(default_factory=set)  # (prompt, here) handed to prepare()

    def start(self) -> ModelWarmup:
        if self.llm.get("model_server") != "local":
            self.state = "n/a"
            self._done.set()
            self._actor_done.set()
            return self
        self.state, self._started = "loading", time.perf_counter()
        threading.Thread(target=self._load, name="msagent-model-load", daemon=True).start()
        return self

    def _spec(self) -> Any:
        from msagent.llm.config import LLMConfig
        from msagent.llm.local_llama import EngineSpec

        return EngineSpec.from_config(LLMConfig.model_validate(self.llm))

    def _load(self) -> None:
        from msagent.llm.local_llama import shared_engine

        try:
            shared_engine(self._spec()).load()
            self.state, self.detail = "ready", f"loaded in {time.perf_counter() - self._started:.1f} s"
            log.info("local model %s", self.detail)
        except Exception as e:
            log.exception("the local model failed to load")
            self.state, self.detail = "failed", str(e)
        finally:
            self._done.set()
        if self.remote and self.state == "ready":
            self._load_actor()
        self._actor_done.set()

    def _load_actor(self) -> None:
        """The model actor that rooms on Ray share (a room opened meanwhile runs in this process)."""
        from msagent.llm.local_actor import load_model_actor

        try:
            if self.before is not None:
                self.before()
            started = time.perf_counter()
            load_model_actor(self._spec())
            self._actor_ok = True
            log.info("local model actor loaded in %.1f s", time.perf_counter() - started)
        except Exception as e:  # rooms on Ray will say why when they call it
            log.warning("the local model actor failed to load: %s", e)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def prepare(self, prompt: str, here: bool = True) -> None:
        """Have the local model evaluate ``prompt`` (a story's opening scene) in the background, as
        soon as it is loaded: the room that follows finds it in llama.cpp's cache, and its first
        words cost only the topic line. Called when a story is picked, before Start is pressed;
        ``here``: in this process's copy of the model (else in the actor's, on Ray)."""
        key = (prompt, here or not self.remote)
        if self.llm.get("model_server") != "local" or self.state in ("failed", "n/a") or key in self._prepared:
            return
        self._prepared.add(key)
        threading.Thread(target=self._prepare, args=key, name="msagent-model-prepare", daemon=True).start()

    def _prepare(self, prompt: str, here: bool) -> None:
        from msagent.llm.local_llama import shared_engine

        done = self._done if here else self._actor_done
        if not done.wait(600) or self.state != "ready" or not (here or self._actor_ok):
            return
        try:
            if here:
                shared_engine(self._spec()).warm([prompt])
            else:
                from msagent.llm.local_actor import ensure_model_actor

                ensure_model_actor(self._spec()).warm.remote([prompt])  # not waited for: the actor queues it
        except Exception as e:  # a cold cache is slower, not wrong
            log.warning("preparing the local model failed: %s", e)
            self._prepared.discard((prompt, here))

    def release(self) -> None:
        if self.remote and self.state == "ready":  # the actor, even one still loading
            from msagent.llm.local_actor import release_model_actor

            release_model_actor(self._spec())

    def status_markdown(self) -> str:
        name = describe(self.llm)
        if self.state == "loading":
            return f"**Model:** {name} - loading... ({time.perf_counter() - self._started:.1f} s)"
        if self.state == "ready":
            return f"**Model:** {name} - ready ({self.detail})"
        if self.state == "failed":
            return f"**Model:** {name} - failed to load: {self.detail}"
        return f"**Model:** {name}"

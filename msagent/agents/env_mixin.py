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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from environment.routing import normalize_send_to
from msagent.errors import ConfigError, NoEnvironmentError
from msagent.runtime.calls import call
from msagent.runtime.fanout import read_ahead
from msagent.runtime.ids import Role
from msagent.schemas import Message, SendTo


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


def default_env_prompt(messages: Sequence[Message]) -> str:
    """One line per received message: ``'<sender>: <content>'``."""
    return "\n".join(f"{m.sent_from or m.role}: {m.content}" for m in messages)


class AgentEnvMixin:
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
        **kwargs: Any,
    ) -> None:
        name = role or kwargs.get("name")
        if not name:
            raise ConfigError("an agent in an environment needs a role (or a name to use as its role)")
        self._role = Role(str(name)).name
        try:
            self._human_mode = HumanInputMode(str(getattr(human_input_mode, "value", human_input_mode)).upper())
        except ValueError:
            raise ConfigError(
                f"human_input_mode {human_input_mode!r} is not one of CLOSE, ON, TERMINAL", field="human_input_mode"
            ) from None
        self._env = env
        self._is_watcher = bool(is_watcher)
        self._use_history = bool(use_history)
        self._prompt_fn = parse_env_prompt_function or default_env_prompt
        self._input_fn = input_function or input
        self._remote = remote
        self._prefix_name = prefix_name
        self._env_history: list[Message] = []
        self._last_reply = ""
        super().__init__(**kwargs)

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

    def set_env(self, env: Any) -> None:
        self._env = env

    def get_env(self) -> Any:
        return self._env

    def set_human_input_mode(self, mode: str) -> None:
        self._human_mode = HumanInputMode(str(mode).upper())

    def last_reply(self) -> str:
        return self._last_reply

    def _require_env(self) -> Any:
        if self._env is None:
            raise NoEnvironmentError(
                f"agent {self._role!r} has no environment: add it to a TaskCenter or call set_env(env) first",
                role=self._role,
            )
        return self._env

    # --- messaging --------------------------------------------------------------------------------
    def publish(self, content: str | Message, send_to: SendTo = "all") -> int:
        msg = content if isinstance(content, Message) else Message(
            role=self._role, content=content, sent_from=self._role, send_to=normalize_send_to(send_to)
        )
        return int(call(self._require_env(), "store_message_from_role", self._role, msg))

    def pull(self) -> list[Message]:
        """Take (and acknowledge) this role's mail."""
        return list(call(self._require_env(), "extract_message_by_role", self._role))

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
        if mail is None:
            mail = call(env, "read_mail", self._role, until)
        received = [d.message for d in mail]
        for m in messages or []:
            received.append(m if isinstance(m, Message) else Message(role="user", content=str(m)))
        prompt = self._prompt_fn(received)
        reply = ""
        human = self._human_answer(prompt, user_response)
        if human is not None:
            reply = human
            yield f"{self._role}: {reply}"
        else:
            history = list(self._env_history) if self._use_history else None
            chunks: Iterable[Any] = self.run(prompt, history=history, **kwargs)  # type: ignore[attr-defined]
            if self._remote:
                # an actor: the model streams in its own thread, so yielding frames to Ray
                # does not slow it down (frames are unchanged)
                chunks = read_ahead(chunks, name=f"model-{self._role}")
            for chunk in chunks:
                text = chunk if isinstance(chunk, str) else str(chunk)
                reply += text
                yield f"{self._role}: {text}"
            reply = self.reply_of_run(reply)
        if self._use_history:
            self._env_history += [Message(role="user", content=prompt), Message(role="assistant", content=reply)]
        self._last_reply = reply
        # Mail is acknowledged only once processed (a crash before re-delivers it, never loses it);
        # a reply and its acknowledgement are one commit, so a retried step cannot send it twice.
        last_seq = mail[-1].seq if mail else None
        if not self._is_watcher:
            msg = Message(role=self._role, content=reply, sent_from=self._role, send_to=send_to)
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

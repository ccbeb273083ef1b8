"""How the room talks to a kind of model: prompt style and sampling, chosen per back-end.

A local GGUF model (SmolLM2-135M by default) continues a short story in prose far better than it
follows instructions to write one line of it, and needs a repeat penalty not to loop; hosted chat
models follow instructions and only need a little temperature. Measured with
``benchmarks/check_chatroom.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Style = Literal["prose", "chat"]


@dataclass(frozen=True)
class ModelProfile:
    style: Style  # 'prose': the story as text to continue; 'chat': instructions and the dialogue
    sampling: dict[str, Any] = field(default_factory=dict)  # generate_cfg of every character call
    retry_sampling: dict[str, Any] = field(default_factory=dict)  # what changes for the one retry
    director_sampling: dict[str, Any] = field(default_factory=dict)  # generate_cfg of the director
    max_tokens: int = 120
    max_speakers: int = 2  # characters stepped in parallel in one director round
    window: int = 12  # lines of the story so far in a prompt

    def generation(self, retry: bool = False) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, **self.sampling, **(self.retry_sampling if retry else {})}


LOCAL = ModelProfile(
    style="prose",
    sampling={
        "temperature": 0.9,
        "top_p": 0.9,
        "repeat_penalty": 1.3,
        "frequency_penalty": 0.5,
        "continue_text": True,
    },
    retry_sampling={"temperature": 1.1, "top_p": 0.95},
    # the director continues the same story by a few words: whoever the story has speak next
    # (the repeat penalty also steers it away from names just said)
    director_sampling={"temperature": 0.7, "max_tokens": 6, "repeat_penalty": 1.3, "continue_text": True},
    max_tokens=60,
    # one at a time: the model runs one call at a time anyway, and two characters answering the
    # same lines at once say the same thing
    max_speakers=1,
    window=10,
)
HOSTED = ModelProfile(
    style="chat",
    sampling={"temperature": 0.8},
    retry_sampling={"temperature": 1.0},
    director_sampling={"temperature": 0.2, "max_tokens": 40},
    max_tokens=120,
    max_speakers=2,
)
OPENAI = ModelProfile(
    style="chat",
    sampling={"temperature": 0.8, "frequency_penalty": 0.3},
    retry_sampling={"temperature": 1.0},
    director_sampling={"temperature": 0.2, "max_tokens": 40},
    max_tokens=120,
    max_speakers=2,
)


def profile_for(llm: dict[str, Any]) -> ModelProfile:
    server = str(llm.get("model_server") or "")
    if server == "local":
        return LOCAL
    if server == "openai" or server.startswith(("http://", "https://")):
        return OPENAI
    return HOSTED

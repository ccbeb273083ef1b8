"""AgentScope's model wrappers over msagent's one model layer.

``load_model_by_config_name(name)`` gives a callable wrapper; ``wrapper(messages).text`` is the
reply, ``.raw`` the API's answer (for chat: OpenAI's response shape; for ``post_api``: the JSON the
server sent), ``.embedding`` / ``.image_urls`` for the embedding and DALL-E types.
"""

from __future__ import annotations

from typing import Any, ClassVar

from msagent.agentscope.model_configs import ModelConfig, get_model_config, parse_model_configs
from msagent.agentscope.prompt import to_chat
from msagent.errors import ConfigError, ModelError
from msagent.llm import ChatModel, ChatResult, get_chat_model
from msagent.llm.openai_compat import OpenAICompatModel
from msagent.llm.post_api import PostAPIModel


class ModelResponse:
    """What a wrapper returns: ``text``, ``embedding``, ``image_urls``, ``raw`` (and ``parsed``)."""

    def __init__(
        self,
        text: str | None = None,
        embedding: list[Any] | None = None,
        image_urls: list[str] | None = None,
        raw: Any = None,
        parsed: Any = None,
    ) -> None:
        self.text = text
        self.embedding = embedding
        self.image_urls = image_urls
        self.raw = raw
        self.parsed = parsed

    def __repr__(self) -> str:
        return f"ModelResponse(text={self.text!r}, image_urls={self.image_urls!r})"


class ModelWrapperBase:
    model_type: ClassVar[str] = ""

    def __init__(self, config: ModelConfig, model: ChatModel | None = None) -> None:
        self.config = config
        self.config_name = config.config_name
        self.model_name = config.model_name
        self.model: ChatModel = model if model is not None else get_chat_model(config.llm_config())

    def __call__(self, *args: Any, **kwargs: Any) -> ModelResponse:
        raise NotImplementedError

    def format(self, *args: Any) -> list[Any]:
        """Messages in the model layer's form (``Msg``, dicts, strings, lists of them)."""
        return to_chat(list(args))

    def close(self) -> None:
        self.model.close()


class ChatWrapper(ModelWrapperBase):
    """Chat models (``openai``, ``dashscope_chat``, ``msagent``): ``wrapper(messages, **generate_args)``."""

    model_type = "openai"

    def __call__(self, messages: Any, **kwargs: Any) -> ModelResponse:
        settings = {**self.config.generate_args, **kwargs}
        result = ChatResult.collect(self.model.chat_events(to_chat(messages), stream=False, **settings))
        message: dict[str, Any] = {"role": "assistant", "content": result.text}
        if result.tool_calls:
            message["tool_calls"] = [c.model_dump() for c in result.tool_calls]
        raw = {
            "object": "chat.completion",
            "model": self.model.model,
            "choices": [{"index": 0, "message": message, "finish_reason": result.finish_reason}],
            "usage": result.usage.model_dump(),
        }
        return ModelResponse(text=result.text, raw=raw)


class PostAPIModelWrapper(ModelWrapperBase):
    """``post_api``: the messages POSTed under ``messages_key``; ``.raw`` is the server's JSON and
    ``.text`` the reply found in it (None when the answer has no text)."""

    model_type = "post_api"

    def __call__(self, messages: Any, **json_args: Any) -> ModelResponse:
        model = self.model
        assert isinstance(model, PostAPIModel)
        payload = [{"role": m.role, "content": m.content} for m in to_chat(messages)]
        raw = model.post(payload, **json_args)
        try:
            text: str | None = model.text_of(raw)
        except ModelError:  # raw-only APIs (embeddings, images): the caller reads .raw
            text = None
        return ModelResponse(text=text, raw=raw)


class _OpenAIClientWrapper(ModelWrapperBase):
    def _client(self) -> OpenAICompatModel:
        model = self.model
        if not isinstance(model, OpenAICompatModel):
            raise ConfigError(f"model config {self.config_name!r} does not reach an OpenAI-compatible server")
        return model


class OpenAIEmbeddingWrapper(_OpenAIClientWrapper):
    """``openai_embedding``: ``wrapper(texts)`` -> ``.embedding`` (one vector per text)."""

    model_type = "openai_embedding"

    def __call__(self, texts: str | list[str], **kwargs: Any) -> ModelResponse:
        model = self._client()
        # the model layer's client and error mapping, for the one OpenAI endpoint chat does not use
        try:
            response = model._client.embeddings.create(
                model=self.model_name or "", input=texts, **{**self.config.generate_args, **kwargs}
            )
        except model._openai.OpenAIError as e:
            raise model._map(e) from None
        return ModelResponse(embedding=[d.embedding for d in response.data], raw=response.model_dump())


class OpenAIDALLEWrapper(_OpenAIClientWrapper):
    """``openai_dall_e``: ``wrapper(prompt)`` -> ``.image_urls``."""

    model_type = "openai_dall_e"

    def __call__(self, prompt: str, **kwargs: Any) -> ModelResponse:
        model = self._client()
        try:
            response = model._client.images.generate(
                model=self.model_name or "", prompt=prompt, **{**self.config.generate_args, **kwargs}
            )
        except model._openai.OpenAIError as e:
            raise model._map(e) from None
        urls = [d.url for d in response.data or [] if d.url]
        return ModelResponse(image_urls=urls, raw=response.model_dump())


_WRAPPERS: dict[str, type[ModelWrapperBase]] = {
    "openai": ChatWrapper,
    "dashscope_chat": ChatWrapper,
    "msagent": ChatWrapper,
    "post_api": PostAPIModelWrapper,
    "openai_embedding": OpenAIEmbeddingWrapper,
    "openai_dall_e": OpenAIDALLEWrapper,
}


def load_model_by_config(config: ModelConfig | dict[str, Any]) -> ModelWrapperBase:
    cfg = config if isinstance(config, ModelConfig) else parse_model_configs(config)[0]
    return _WRAPPERS[cfg.model_type](cfg)


def load_model_by_config_name(config_name: str) -> ModelWrapperBase:
    """The wrapper for a config loaded by ``msagent.init``; an unknown name lists the known ones."""
    return load_model_by_config(get_model_config(config_name))



def wrap_chat_model(model: ChatModel) -> ChatWrapper:
    """A wrapper around an msagent model object (no config needed; e.g. a scripted model)."""
    name = model.model or type(model).__name__
    config = ModelConfig(config_name=f"model:{name}", model_type="msagent", llm={"model": name})
    return ChatWrapper(config, model=model)

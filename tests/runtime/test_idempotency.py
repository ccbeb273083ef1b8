"""Every Environment call can be repeated (Ray retries it after a crash) with the same effect;
a reopened log comes back without reading acknowledged mail."""

from __future__ import annotations

import time

import pytest

from environment import Environment
from msagent.errors import InvalidContentError, UnknownRoleError
from msagent.schemas import Message


def env_at(tmp_path, **kwargs) -> Environment:
    return Environment(storage_path=str(tmp_path / "env.sqlite3"), **kwargs)


def test_a_retried_pull_returns_what_the_first_returned(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    for i in range(3):
        env.store_message_from_role("a", Message(role="a", content=f"m{i}", send_to="b"))
    first = env.extract_message_by_role("b", request_id="pull-1")
    assert [m.content for m in first] == ["m0", "m1", "m2"]
    env.store_message_from_role("a", Message(role="a", content="later", send_to="b"))
    # the actor died after committing the ack and before answering: the retry must not get []
    again = env_at(tmp_path).extract_message_by_role("b", request_id="pull-1")
    assert [m.id for m in again] == [m.id for m in first]
    assert [m.content for m in env_at(tmp_path).extract_message_by_role("b", request_id="pull-2")] == ["later"]
    assert env_at(tmp_path).extract_message_by_role("b", request_id="pull-3") == []
    assert env_at(tmp_path).extract_message_by_role("b", request_id="pull-3") == []


def test_a_retried_text_publish_is_stored_once(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    seq = env.store_message_from_role("a", "plain text", request_id="task-7")
    assert env_at(tmp_path).store_message_from_role("a", "plain text", request_id="task-7") == seq
    seqs = env.store_messages([("a", "x"), ("a", "y")], request_id="task-8")
    assert env_at(tmp_path).store_messages([("a", "x"), ("a", "y")], request_id="task-8") == seqs
    assert [m.content for m in env_at(tmp_path).extract_all_history_message(None)] == ["plain text", "x", "y"]
    # without a request id, text is a new message each time (as a local call is never retried)
    env.store_message_from_role("a", "plain text")
    assert len(env.extract_all_history_message(None)) == 4


def test_reopening_reads_only_open_mail_and_still_knows_every_id(tmp_path):
    env = env_at(tmp_path, history_limit=50)
    env.register_roles(["a", "b"])
    env.register_roles(["w"], watcher=True)
    sent = [Message(role="a", content=f"m{i}", send_to="b") for i in range(3000)]
    env.store_messages([("a", m) for m in sent])
    env.ack("b", 2990)
    env.ack("w", 3000)
    reopened = env_at(tmp_path, history_limit=50)
    info = reopened.info()
    assert info["open_messages"] == 10 and info["next_seq"] == 3001
    assert [d.seq for d in reopened.read_mail("b")] == list(range(2991, 3001))
    assert reopened.read_mail("w") == []
    assert [m.content for m in reopened.extract_all_history_message(None)] == [f"m{i}" for i in range(2950, 3000)]
    # an id from long ago (not in memory any more) is still recognised: a late retry stores nothing
    assert reopened.store_message_from_role("a", sent[0]) == 1
    assert reopened.store_messages([("a", sent[5]), ("a", "new")]) == [6, 3001]
    assert reopened.last_seq() == 3001


def test_reset_keeps_numbering_and_a_retried_reset_is_a_no_op(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    env.store_message_from_role("a", "old")
    env.reset(request_id="r1")
    assert env.store_message_from_role("a", "new") == 2  # an ack of 1 sent before the reset cannot touch it
    env.reset(request_id="r1")
    assert [d.message.content for d in env_at(tmp_path).read_mail("b")] == ["new"]
    env.ack("b", 1)
    assert [d.message.content for d in env.read_mail("b")] == ["new"]


def test_unregister_is_idempotent_but_unknown_roles_are_errors(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    env.store_message_from_role("a", Message(role="a", content="for b", send_to="b"))
    env.unregister_role("b")
    env.unregister_role("b")  # a retried call
    with pytest.raises(UnknownRoleError, match="'zed'"):
        env.unregister_role("zed")
    reopened = env_at(tmp_path)
    assert reopened.get_roles() == ["a"] and reopened.info()["open_messages"] == 0
    reopened.register_roles(["b"])  # a role can come back; it starts with an empty mailbox
    assert reopened.read_mail("b") == []


def test_conversations_rebuild_what_each_role_received_and_said(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    env.store_message_from_role("u", Message(role="u", content="task", send_to="all"))
    env.publish_and_ack("a", Message(role="a", content="a1", send_to="b"), 1)
    env.publish_and_ack("b", Message(role="b", content="b1", send_to="all"), 2)
    env.store_message_from_role("u", Message(role="u", content="more", send_to="a"))
    env.publish_and_ack("a", Message(role="a", content="a2", send_to="b"), 4)
    turns = env_at(tmp_path).get_conversations(["a", "b"])
    assert [([m.content for m in t.received], t.reply.content) for t in turns["a"]] == [
        (["task"], "a1"),
        (["b1", "more"], "a2"),
    ]
    assert [([m.content for m in t.received], t.reply.content) for t in turns["b"]] == [(["task", "a1"], "b1")]
    assert [t.reply.content for t in env.get_conversation("a", turns=1)] == ["a2"]
    assert [m.content for m in env.get_conversation("a", turns=1)[0].received] == ["b1", "more"]
    env.store_message_from_role("b", Message(role="b", content="a plain publish", send_to="a"))  # not a turn
    env.publish_and_ack("b", Message(role="b", content="b2", send_to="all"), None)  # a turn without mail
    assert [([m.content for m in t.received], t.reply.content) for t in env_at(tmp_path).get_conversation("b")] == [
        (["task", "a1"], "b1"),
        ([], "b2"),
    ]


def test_content_that_is_not_text_is_refused(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    for bad in (b"bytes", bytearray(b"x"), 42, {"k": 1}):
        with pytest.raises(InvalidContentError, match="text"):
            env.store_message_from_role("a", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bytes"):
        Message(role="a", content=b"bytes")  # type: ignore[arg-type]
    assert env.extract_all_history_message(None) == []


def test_invalid_characters_are_repaired_not_stored_broken(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    assert Message(role="a", content="ok \ud83d\ude00 bad \ud800").content == "ok \U0001f600 bad \ufffd"
    msg = Message(role="a", content="fine", send_to="b")
    msg.content = "set later \udc80"  # assignment skips validation; the log must still take it
    env.store_message_from_role("a", msg)
    assert [d.message.content for d in env_at(tmp_path).read_mail("b")] == ["set later \ufffd"]


def test_environment_takes_roles_and_answers_the_seed_names(tmp_path):
    env = env_at(tmp_path, roles=["a", "b", "c"])
    assert env.get_all_roles() == ["a", "b", "c"]
    env.store_message_from_role("a", Message(content="hi all", sent_from="a"))  # role from sent_from
    env.store_message_from_role("b", Message(content="to c", sent_from="b", send_to="c"))
    env.extract_message_by_role("c")
    assert [m.content for m in env.get_message_list("c")] == ["hi all", "to c"]  # read ones too
    assert [m.content for m in env.get_message_list("b")] == ["hi all"]
    assert env_at(tmp_path, roles=["a", "b", "c"]).get_all_roles() == ["a", "b", "c"]  # a restart: no-op


def test_reopen_time_does_not_grow_with_acknowledged_mail(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    for start in range(0, 50_000, 5000):
        env.store_messages([("a", Message(role="a", content="x" * 100, send_to="b")) for _ in range(5000)])
        env.ack("b", start + 5000)
    env.store_message_from_role("a", Message(role="a", content="unread", send_to="b"))
    t0 = time.perf_counter()
    reopened = env_at(tmp_path)
    took = time.perf_counter() - t0
    assert [d.message.content for d in reopened.read_mail("b")] == ["unread"]
    assert reopened.info()["load_seconds"] < 1.0 and took < 5.0  # generous: CI machines are shared


def test_seed_names_one_allowed_role_as_a_string_and_memory_history():
    from msagent.llm import ScriptedModel
    from msagent.memory import Memory
    from msagent.runtime.testing_agents import EchoAgent
    from task_center import TaskCenter

    tc = TaskCenter(durable=False)
    agents = [EchoAgent(name=n, llm=ScriptedModel([f"I am {n}"], cycle=True)) for n in ("ab", "a", "b")]
    tc.add_agents(agents)
    tc.send_task_request("hello")
    assert [f.split(":")[0] for f in tc.step(allowed_roles="ab")] == ["ab", "ab", "ab"]  # not 'a' and 'b'
    memory = Memory()
    memory.update_history(Message(role="user", content="hi"))
    memory.update_history([{"role": "assistant", "content": "hello"}])
    assert [(m.role, m.content) for m in memory.get_history()] == [("user", "hi"), ("assistant", "hello")]


def test_a_model_emitting_broken_characters_does_not_poison_later_steps():
    from msagent.llm import FunctionModel, ScriptedTurn
    from msagent.runtime.testing_agents import EchoAgent
    from task_center import TaskCenter

    # a lone surrogate (replaced) and a surrogate pair (made the character it stands for)
    model = FunctionModel(lambda m, t: ScriptedTurn(text="bad \ud800 pair \ud83d\ude00 end"))
    agent = EchoAgent(name="a", llm=model)
    tc = TaskCenter(durable=False)
    tc.add_agents([agent, EchoAgent(name="b", llm=FunctionModel(lambda m, t: "ok"))])
    for _ in range(3):
        frames = list(tc.step(task="go", allowed_roles=["a"]))
        streamed = "".join(f.split(": ", 1)[1] for f in frames)
        assert streamed == "bad \ufffd pair \U0001f600 end"
    published = [m.content for m in tc.env.extract_all_history_message(None) if m.sent_from == "a"]
    assert published == ["bad \ufffd pair \U0001f600 end"] * 3


def test_text_repair_holds_back_half_a_pair():
    from msagent.agents.env_mixin import TextRepair

    repair = TextRepair()
    pieces = [repair.feed(c) for c in ["x\ud83d", "\ude00y", "\ud83d"]] + [repair.flush()]
    assert pieces == ["x", "\U0001f600y", "", "\ufffd"]


def test_a_retry_after_a_restart_gets_its_number_even_if_the_recipient_is_gone(tmp_path):
    env = env_at(tmp_path)
    env.register_roles(["a", "b"])
    msg = Message(role="a", content="for b", send_to="b")
    seq = env.store_message_from_role("a", msg)
    env.ack("b", seq)
    reopened = env_at(tmp_path)  # the restart: the id is in the log only
    reopened.set_role_enabled("b", False)
    assert reopened.store_message_from_role("a", msg) == seq  # not AgentDisabledError
    pulled = reopened.extract_message_by_role("a", request_id="p1")
    reopened.unregister_role("a")
    assert reopened.extract_message_by_role("a", request_id="p1") == pulled  # answered as before

"""One model turn's calls: different tools run at once, one stateful tool's calls take turns in the
order asked, results always come back in the order of the calls."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from msagent.agents import RolePlay
from msagent.llm import ScriptedModel, ScriptedTurn
from msagent.schemas import FunctionCall, ToolCall
from msagent.tools import BaseTool, call_tools

MEET_TIMEOUT = 10.0  # a lone call waits this long, then fails: only calls running together meet


class Meeter(BaseTool):
    """Waits at a barrier shared with other calls: returns only if ``parties`` calls are in at once."""

    name = "meet"
    parameters = [{"name": "who", "type": "string", "required": True}]

    def __init__(self, barrier: threading.Barrier, name: str = "meet") -> None:
        self.__dict__["name"] = name
        super().__init__()
        self.barrier = barrier

    def call(self, params: str, **kwargs: Any) -> str:
        self.barrier.wait(MEET_TIMEOUT)
        return f"{json.loads(params)['who']} met ({kwargs.get('key')})"


class SharedMeeter(Meeter):
    concurrent_calls = True


class Counter(BaseTool):
    """A stateful tool: records the order of its calls and how many ran at once."""

    name = "count"
    parameters = [{"name": "n", "type": "integer", "required": True}]

    def __init__(self) -> None:
        super().__init__()
        self.order: list[int] = []
        self.active = self.most = 0
        self._lock = threading.Lock()

    def call(self, params: str, **kwargs: Any) -> str:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        n = json.loads(params)["n"]
        with self._lock:
            self.order.append(n)
            self.active -= 1
        return str(n)


class Slow(BaseTool):
    name = "slow"

    def call(self, params: str, **kwargs: Any) -> str:
        time.sleep(0.3)
        return f"slow done at {time.monotonic()}"


class Fast(BaseTool):
    name = "fast"

    def call(self, params: str, **kwargs: Any) -> str:
        return f"fast done at {time.monotonic()}"


class Boom(BaseTool):
    name = "boom"

    def call(self, params: str, **kwargs: Any) -> str:
        raise RuntimeError("boom")


def tc(name: str, args: dict[str, Any] | None = None) -> ToolCall:
    return ToolCall(function=FunctionCall(name=name, arguments=json.dumps(args or {})))


def test_calls_to_different_tools_run_at_once_and_keep_their_order() -> None:
    barrier = threading.Barrier(2)
    tools: dict[str, BaseTool] = {"a": Meeter(barrier, "a"), "b": Meeter(barrier, "b")}
    calls = [tc("a", {"who": "first"}), tc("b", {"who": "second"})]
    out = list(call_tools(tools, calls, {"key": "k"}))
    assert out == [(calls[0], "first met (k)"), (calls[1], "second met (k)")]


def test_a_slow_first_call_does_not_hold_back_the_others_but_comes_first() -> None:
    tools: dict[str, BaseTool] = {"slow": Slow(), "fast": Fast()}
    calls = [tc("slow"), tc("fast")]
    (first, slow), (second, fast) = call_tools(tools, calls)
    assert (first, second) == (calls[0], calls[1])
    assert float(fast.split()[-1]) < float(slow.split()[-1])  # the fast one ran while the slow one slept


def test_calls_to_one_tool_take_turns_in_the_order_asked() -> None:
    counter = Counter()
    tools: dict[str, BaseTool] = {"count": counter, "fast": Fast()}
    calls = [tc("count", {"n": n}) for n in range(5)] + [tc("fast")]
    out = [text for _, text in call_tools(tools, calls)]
    assert out[:5] == ["0", "1", "2", "3", "4"] and out[5].startswith("fast done")
    assert counter.order == [0, 1, 2, 3, 4] and counter.most == 1


def test_a_tool_that_takes_concurrent_calls_gets_them_at_once() -> None:
    tools: dict[str, BaseTool] = {"meet": SharedMeeter(threading.Barrier(3))}
    calls = [tc("meet", {"who": w}) for w in ("x", "y", "z")]
    assert [text for _, text in call_tools(tools, calls)] == ["x met (None)", "y met (None)", "z met (None)"]


def test_failures_stay_observations_beside_the_other_calls() -> None:
    tools: dict[str, BaseTool] = {"boom": Boom(), "fast": Fast()}
    calls = [tc("boom"), tc("nope"), tc("fast", {}), ToolCall(function=FunctionCall(name="fast", arguments="[1]"))]
    out = [text for _, text in call_tools(tools, calls)]
    assert out[0] == "Error: RuntimeError: boom"
    assert out[1].startswith("Error: unknown tool 'nope'; available tools: boom, fast")
    assert out[2].startswith("fast done")
    assert out[3].startswith("Error: arguments for tool 'fast' must be a JSON object")


def test_role_play_runs_a_turns_calls_at_once_and_reports_them_in_order() -> None:
    barrier = threading.Barrier(2)
    calls = [{"name": "a", "arguments": {"who": "alice"}}, {"name": "b", "arguments": {"who": "bob"}}]
    model = ScriptedModel([ScriptedTurn(tool_calls=calls), "Both met."])
    bot = RolePlay(function_list=[Meeter(barrier, "a"), Meeter(barrier, "b")], llm=model)
    text = "".join(bot.run("meet", key="sk"))
    assert text == ('Action: a\nAction Input: {"who": "alice"}\nAction: b\nAction Input: {"who": "bob"}\n'
                    "Observation: <result>alice met (sk)</result>\nObservation: <result>bob met (sk)</result>\n"
                    "Answer: Both met.")  # fmt: skip
    assert [(m.name, m.content) for m in bot.last_run.messages if m.role == "tool"] == [
        ("a", "alice met (sk)"), ("b", "bob met (sk)")]  # fmt: skip

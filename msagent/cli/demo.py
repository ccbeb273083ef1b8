"""``msagent demo [--turns N] [--model-server S --model M --api-base URL]``: a RolePlay agent with the
calculator tool answers a few user turns, streaming its text and its tool calls (``Action:`` /
``Observation:``); its memory carries the conversation.

Without ``--model-server`` the model is a rule-based fake (no network) that asks the calculator
for every expression in the question and answers from the tool's real results.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from msagent.llm import ChatModel, ScriptedTurn
from msagent.schemas import Message, ToolSpec

QUESTIONS = [
    "What is 12 * 7?",
    "And what are 2 ** 10 and sqrt(144)?",
    "Add up your last two results: 1024 + 12.",
    "Finally, what is (3 + 4) * 5?",
]
_EXPRESSION = re.compile(r"[\d(][\d\s.+\-*/()]*[\d)]|sqrt\(\d+\)")


def fake_model() -> ChatModel:
    """A FunctionModel: calls the calculator for each expression in the newest question, then
    answers with the results the tool sent back."""
    from msagent.llm import FunctionModel

    return FunctionModel(_reply)


def _reply(messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn:
    if messages[-1].role == "tool":
        results: list[Message] = []
        for m in reversed(messages):
            if m.role != "tool":
                break
            results.insert(0, m)
        calls = messages[-len(results) - 1].tool_calls or []
        parts = [f"{_expr(c.function.arguments)} = {r.content}" for c, r in zip(calls, results, strict=True)]
        return ScriptedTurn(text="The calculator says: " + "; ".join(parts) + ".")
    found = [e.strip() for e in _EXPRESSION.findall(messages[-1].content)]
    if not found or not tools:
        return ScriptedTurn(text="I can only help with arithmetic.")
    calls_out: list[dict[str, Any]] = [{"name": "calculator", "arguments": {"expression": e}} for e in found]
    return ScriptedTurn(text=f"Let me calculate {len(found)} expression(s).", tool_calls=calls_out)


def _expr(arguments: str) -> str:
    try:
        return str(json.loads(arguments).get("expression", arguments))
    except (ValueError, AttributeError):
        return arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a multi-turn RolePlay demo with a calculator tool (offline by default)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--turns", type=int, default=3, help=f"user turns, 1-{len(QUESTIONS)} (default 3)")
    parser.add_argument("--model-server", default=None, help="e.g. openai, dashscope, or a base URL")
    parser.add_argument("--model", default="", help="model name on that server")
    parser.add_argument("--api-base", default=None, help="OpenAI-compatible base URL")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from msagent.agents import RolePlay
    from msagent.errors import MsagentError
    from msagent.memory import Memory

    if not 1 <= args.turns <= len(QUESTIONS):
        print(f"msagent demo: --turns must be between 1 and {len(QUESTIONS)}", file=sys.stderr)
        return 2
    llm = (
        {"model_server": args.model_server, "model": args.model, "api_base": args.api_base}
        if args.model_server
        else fake_model()
    )
    try:
        bot = RolePlay(
            function_list=["calculator"],
            llm=llm,
            name="Calc",
            description="a careful assistant that uses the calculator for arithmetic",
            instruction="Answer briefly. Always use the calculator tool for arithmetic.",
            memory=Memory(),  # in memory only: the demo leaves nothing on disk
        )
        for question in QUESTIONS[: args.turns]:
            print(f"user: {question}")
            print("Calc: ", end="", flush=True)
            for chunk in bot.run(question):  # the text, with the tool work (Action / Observation)
                print(chunk, end="", flush=True)
            print()
        bot.close()
    except MsagentError as e:
        print(f"\nmsagent demo: {e}", file=sys.stderr)
        return 1
    return 0

"""RolePlay as a participant of a local Task Center: tools run inside a step, frames stream."""

from __future__ import annotations

from msagent.agents import RolePlay
from msagent.llm import ScriptedModel, ScriptedTurn
from msagent.runtime.component import create_component
from task_center import TaskCenter


def test_role_play_steps_with_tools_in_a_local_task_center() -> None:
    task_center = create_component(TaskCenter, name="task_center", durable=False)
    model = ScriptedModel(
        [ScriptedTurn(tool_calls=[{"name": "calculator", "arguments": {"expression": "40+2"}}]), "It is 42."]
    )
    solver = create_component(RolePlay, name="solver", llm=model, function_list=["calculator"], instruction="Solve.")
    task_center.add_agents([solver])
    task_center.send_task_request("what is 40+2?", send_to="solver")
    frames = list(task_center.step())
    # the frames show the tool work; what the agent publishes is its answer alone
    assert "".join(f.removeprefix("solver: ") for f in frames) == (
        'Action: calculator\nAction Input: {"expression": "40+2"}\nObservation: <result>42</result>\n'
        "Answer: It is 42."
    )
    assert all(f.startswith("solver: ") for f in frames)
    assert [m.content for m in solver.last_run.messages if m.role == "tool"] == ["42"]
    assert "what is 40+2?" in model.seen[0][-1].content
    assert solver.last_reply() == "It is 42."
    published = task_center.env.extract_all_history_message()
    assert [(m.sent_from, m.content) for m in published if m.sent_from == "solver"] == [("solver", "It is 42.")]
    task_center.close()

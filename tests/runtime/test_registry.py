"""The Agent Registry, as a plain object and as a Ray actor: roles, state, human-driven roles."""

from __future__ import annotations

import pytest

from msagent.errors import ConfigError, DuplicateRoleError, UnknownRoleError
from msagent.runtime import call, create_component, is_actor
from registry import AgentRegistry


def test_registry_tracks_roles_state_and_humans(mode):
    reg = create_component(AgentRegistry, name="reg", remote=mode.remote, prefix_name=mode.prefix, force_new=True)
    try:
        call(reg, "register_agent", "a", "agent-a")
        call(reg, "register_agents", {"b": "agent-b", "c": "agent-c"})
        call(reg, "register_agent", "a", "agent-a")  # the same agent again is fine
        with pytest.raises(DuplicateRoleError, match="'a'"):
            call(reg, "register_agent", "a", "someone else")
        with pytest.raises(ConfigError):
            call(reg, "register_agent", "bad:role", "x")
        assert call(reg, "get_roles") == ["a", "b", "c"]
        assert call(reg, "get_agent", "b") == "agent-b"
        assert call(reg, "get_agents_by_role", ["c", "a"]) == ["agent-c", "agent-a"]
        assert call(reg, "has_role", "a") and not call(reg, "has_role", "zed")

        call(reg, "disable_agent", "b")
        assert not call(reg, "is_enabled", "b") and call(reg, "get_available_roles") == ["a", "c"]
        call(reg, "register_agent", "b", "agent-b")  # re-registering keeps it disabled
        assert call(reg, "get_available_roles") == ["a", "c"]
        call(reg, "enable_agent", "b")
        assert call(reg, "get_available_roles") == ["a", "b", "c"]

        call(reg, "set_user_agent", "c")
        assert call(reg, "is_user_agent", "c") and call(reg, "get_user_agents") == ["c"]
        call(reg, "unset_user_agent", "c")
        assert call(reg, "get_user_agents") == []

        call(reg, "unregister_agent", "a")
        assert call(reg, "get_roles") == ["b", "c"]
        for method, args in [
            ("unregister_agent", ("a",)),
            ("get_agent", ("a",)),
            ("get_agents_by_role", (["b", "a"],)),
            ("disable_agent", ("a",)),
            ("set_user_agent", ("a",)),
            ("is_enabled", ("a",)),
        ]:
            with pytest.raises(UnknownRoleError, match="'a'"):
                call(reg, method, *args)
    finally:
        if is_actor(reg):
            import ray

            ray.kill(reg, no_restart=True)


def test_the_seed_registry_names_read_roles_from_the_agents(mode):
    """ModelScope-Agent's AgentRegistry calls, as users' scripts make them."""
    from msagent.llm import ScriptedModel

    reg = create_component(AgentRegistry, name="seedreg", remote=mode.remote, prefix_name=mode.prefix, force_new=True)
    env = mode.center().get_env()
    call(env, "register_roles", ["alice", "bob", "carol"])
    alice = mode.agent("alice", ScriptedModel(["a"]))
    bob = mode.agent("bob", ScriptedModel(["b"]), human_input_mode="ON")
    carol = mode.agent("carol", ScriptedModel(["c"]))
    try:
        call(reg, "register_agent", alice, env)  # (agent, env_context): the role comes from the agent
        call(reg, "register_agents", [bob, carol], env_context=env)
        assert call(reg, "get_all_role") == ["alice", "bob", "carol"]
        assert call(reg, "get_agent_by_role", "bob") == bob
        assert call(reg, "get_agents_by_role", ["carol", "alice"]) == [carol, alice]
        assert call(reg, "get_agents_by_role", "carol") == [carol]  # one role as a string
        assert call(reg, "get_user_agents_role_name") == ["bob"]  # read from its human_input_mode
        assert call(alice, "get_env") is not None  # env_context became its environment
        call(reg, "set_user_agent", "carol", human_input_mode="ON")
        assert call(reg, "get_user_agents_role_name") == ["bob", "carol"]
        assert call(carol, "agent_info").human_input_mode == "ON"  # the agent itself switched
        call(reg, "unset_user_agent", "bob")
        assert call(bob, "agent_info").human_input_mode == "CLOSE"
        call(reg, "disable_agent", "alice")
        assert call(reg, "get_available_role_name") == ["bob", "carol"]
        with pytest.raises(ConfigError, match="CLOSE, ON, TERMINAL") as err:
            call(reg, "set_user_agent", "carol", human_input_mode="SOMETIMES")
        assert err.value.details["field"] == "human_input_mode"
        with pytest.raises(ConfigError, match="CLOSE, ON, TERMINAL"):
            call(carol, "set_human_input_mode", "loud")
    finally:
        if is_actor(reg):
            import ray

            ray.kill(reg, no_restart=True)

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

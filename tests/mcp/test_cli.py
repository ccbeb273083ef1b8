"""``msagent tools mcp-list``: what a config's servers offer, and clear errors for bad configs."""

from __future__ import annotations

import json

from mcp_helpers import stdio_server

from msagent.cli import main


def test_mcp_list_prints_names_and_schemas(tmp_path, capsys, http_demo):
    cfg = tmp_path / "mcp.json"
    cfg.write_text(json.dumps({"mcpServers": {"files": stdio_server()}}))
    assert main(["tools", "mcp-list", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "files  (stdio: " in out and "10 tool(s)" in out
    assert "  files-add: Add two integers.\n" in out
    assert '"required": ["a", "b"]' in out
    cfg.write_text(json.dumps({"mcpServers": {"remote": {"url": http_demo}}}))
    assert main(["tools", "mcp-list", "--json", str(cfg)]) == 0
    listed = json.loads(capsys.readouterr().out)
    add = next(t for t in listed["remote"] if t["name"] == "remote-add")
    assert add["parameters"]["required"] == ["a", "b"] and add["description"] == "Add two integers."


def test_mcp_list_bad_configs(tmp_path, capsys):
    cfg = tmp_path / "mcp.json"
    cfg.write_text(json.dumps({"mcpServers": {"half": {"args": ["server.py"]}}}))
    assert main(["tools", "mcp-list", str(cfg)]) == 1
    assert "error: MCP server 'half': give 'command'" in capsys.readouterr().err
    cfg.write_text("{not json")
    assert main(["tools", "mcp-list", str(cfg)]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
    assert main(["tools", "mcp-list", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err

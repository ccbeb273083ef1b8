"""The environment tools (XAgent's file editor, notebook, shell, web, RapidAPI) as ordinary local
tools: one workspace per test, real kernels and processes, a real HTTP server for the web tools."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from msagent.errors import ToolArgumentError, ToolError, WorkspacePathError
from msagent.testing.asgi import uvicorn_thread
from msagent.tools import BaseTool, call_tool, get_tool

PAGE = """<html><head><title>t</title><style>p {color: red}</style><script>var x = 1;</script></head>
<body><h1>Tool service</h1><p>Nodes are <b>hardened</b> containers.</p>
<a href="https://example.org/more">read more</a></body></html>"""


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ws").mkdir()
    monkeypatch.setenv("MSAGENT_WORKSPACE", str(tmp_path / "ws"))
    return (tmp_path / "ws").resolve()


def tool(name: str, **cfg: Any) -> BaseTool:
    return get_tool(name, cfg)


def test_file_editor_reads_writes_and_edits_lines(ws: Path) -> None:
    out = tool("FileSystemEnv_write_to_file").call(json.dumps({"filepath": "src/a.txt", "content": "one\ntwo\nthree"}))
    assert out.startswith("wrote 3 lines to 'src/a.txt'") and "    3: three" in out
    assert (ws / "src/a.txt").read_text() == "one\ntwo\nthree\n"
    read = tool("FileSystemEnv_read_from_file")
    assert read.call('{"filepath": "src/a.txt", "start_line": 2, "end_line": 3}') == "    2: two\n    3: three"
    tool("FileSystemEnv_insert_lines").call({"filepath": "src/a.txt", "line_number": 2, "content": "one and a half"})
    tool("FileSystemEnv_replace_lines").call({"filepath": "src/a.txt", "start_line": 4, "content": "THREE"})
    tool("FileSystemEnv_delete_lines").call({"filepath": "src/a.txt", "start_line": 1})
    assert (ws / "src/a.txt").read_text() == "one and a half\ntwo\nTHREE\n"
    listing = tool("FileSystemEnv_list_files").call("{}")
    assert listing.splitlines() == ["./", "    - src/", "        - a.txt"]
    # bad input: a clear argument error naming the field, never a crash
    with pytest.raises(ToolArgumentError, match="start_line 9 is past the end"):
        read.call({"filepath": "src/a.txt", "start_line": 9})
    assert call_tool(read, ("FileSystemEnv_read_from_file", "{}")).startswith(
        "Error: invalid arguments for tool 'FileSystemEnv_read_from_file': missing required field 'filepath'")
    with pytest.raises(ToolError, match="does not exist"):
        read.call({"filepath": "nope.txt"})


def test_paths_outside_the_workspace_are_refused(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    (ws / "link").symlink_to(tmp_path)  # a symlink out of the workspace is no way out either
    read = tool("FileSystemEnv_read_from_file")
    for path in ["../secret.txt", str(tmp_path / "secret.txt"), "link/secret.txt", "/etc/passwd"]:
        with pytest.raises(WorkspacePathError, match="outside the workspace"):
            read.call({"filepath": path})
    with pytest.raises(WorkspacePathError):
        tool("FileSystemEnv_write_to_file").call({"filepath": "../evil.txt", "content": "x"})
    assert not (tmp_path / "evil.txt").exists()


@pytest.fixture()
def notebook(ws: Path) -> Iterator[BaseTool]:
    nb = tool("PythonNotebook_execute_cell")
    yield nb
    nb.close()


def test_notebook_runs_cells_draws_charts_and_saves_the_notebook(ws: Path, notebook: BaseTool) -> None:
    assert notebook.call({"code": "x = np.arange(4)\nprint(x.sum())"}) == "cell_index: 0\n6"
    out = notebook.call({"code": "df = pd.DataFrame({'y': x ** 2})\nplt.plot(df['y'])\nplt.title('squares')"})
    assert out.startswith("cell_index: 1\n")
    image = Path(out.split("![image](")[1].rstrip(")"))
    assert image.parent == ws / "images" and image.read_bytes().startswith(b"\x89PNG")
    assert notebook.call({"code": "print(x.max())", "cell_index": 0}) == "cell_index: 0\n3"  # replaced, rerun
    assert "ZeroDivisionError" in notebook.call({"code": "1/0"})
    saved = json.loads((ws / "notebook.ipynb").read_text())
    assert saved["nbformat"] == 4 and len(saved["cells"]) == 3
    assert saved["cells"][1]["outputs"][-1]["data"]["image/png"]  # the chart is in the notebook too
    shown = tool("PythonNotebook_print_notebook").call("{}")
    assert shown.startswith("= Cell 0 =\nprint(x.max())\n= Output 0 =\n3\n= Cell 1 =")
    assert f"![image]({image})" in shown
    with pytest.raises(ToolArgumentError, match="cell_index 7 does not exist"):
        notebook.call({"code": "1", "cell_index": 7})


def test_shell_runs_times_out_and_backgrounds(ws: Path) -> None:
    run = tool("ShellEnv_execute_command")
    assert run.call({"command": "echo hi > f.txt && cat f.txt && pwd"}) == f"exit code 0\nhi\n{ws.resolve()}"
    assert run.call({"command": "echo oops >&2; exit 3"}) == "exit code 3\noops"
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"killed after 0.5 s \(its timeout\); output before that:\nbefore"):
        run.call({"command": "echo before; sleep 5; touch late.txt", "timeout": 0.5})
    assert time.monotonic() - started < 4
    time.sleep(0.2)
    assert not (ws / "late.txt").exists()  # killed, not left running
    out = run.call({"command": "echo start; sleep 0.3; echo end", "background": True})
    job = out.split("job ")[1].split(";")[0]
    read = tool("ShellEnv_read_output")
    assert read.call({"job_id": job, "wait": 10}) == f"job {job} finished with exit code 0\nstart\nend"
    slow = run.call({"command": "sleep 30", "background": True}).split("job ")[1].split(";")[0]
    assert read.call({"job_id": slow}) == f"job {slow} still running"
    assert tool("ShellEnv_kill_job").call({"job_id": slow}) == f"job {slow} killed"
    assert "finished with exit code -9" in read.call({"job_id": slow})
    with pytest.raises(ToolArgumentError, match="no background job"):
        read.call({"job_id": "../x"})


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    app = FastAPI()
    seen: dict[str, Any] = {}
    app.state.seen = seen

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/search")
    async def search(q: str, format: str) -> JSONResponse:
        return JSONResponse({"results": [{"title": f"About {q}", "url": "https://example.org/a", "content": "A  page."},
                                         {"title": "Second", "url": "https://example.org/b", "content": ""}]})

    @app.api_route("/api/{path:path}", methods=["GET", "POST"])
    async def api(path: str, request: Request) -> JSONResponse:
        return JSONResponse({"path": path, "key": request.headers.get("x-rapidapi-key"),
                             "host": request.headers.get("x-rapidapi-host"), "q": dict(request.query_params)})

    with uvicorn_thread(app) as url:
        yield url


def test_web_fetches_readable_text_and_searches_a_configured_engine(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = tool("WebEnv_browse_website").call({"url": f"{site}/page"})
    assert text == "Tool service\nNodes are hardened containers.\nread more\n\nLinks:\nread more (https://example.org/more)"
    search = tool("WebEnv_search", search_url=f"{site}/search")
    assert search.call({"query": "nodes", "num_results": 1}) == "1. About nodes\n   https://example.org/a\n   A page."
    with pytest.raises(ToolError, match="no search engine is configured"):
        tool("WebEnv_search").call({"query": "x"})
    with pytest.raises(ToolArgumentError, match="http"):
        tool("WebEnv_browse_website").call({"url": "file:///etc/passwd"})
    with pytest.raises(ToolError, match="could not fetch"):
        tool("WebEnv_browse_website").call({"url": "http://127.0.0.1:9/"})
    monkeypatch.setenv("MSAGENT_NODE_NETWORK", "0")  # what a node without network says
    with pytest.raises(ToolError, match=r"no network; create it with tool_cfg \{\"network\": true\}"):
        tool("WebEnv_browse_website").call({"url": f"{site}/page"})


def test_rapidapi_only_with_a_key(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAPIDAPI_KEY", raising=False)
    with pytest.raises(ToolError, match="no RapidAPI key is configured"):
        tool("RapidAPIEnv_call_api").call({"host": "w.p.rapidapi.com", "path": "/x"})
    api = tool("RapidAPIEnv_call_api", RapidAPIEnv={"api_key": "k1", "endpoint": f"{site}/api"})
    out = json.loads(api.call({"host": "w.p.rapidapi.com", "path": "/current.json", "params": {"q": "Paris"}}))
    assert out == {"path": "current.json", "key": "k1", "host": "w.p.rapidapi.com", "q": {"q": "Paris"}}
    with pytest.raises(ToolArgumentError, match="bare host name"):
        api.call({"host": "http://x/y", "path": "/"})


def test_wrapped_results_round_trip(tmp_path: Path) -> None:
    """XAgent's wrapped form: files a tool names under the node's folders become binary parts (and
    back into local files on the caller's side); other links stay text."""
    from msagent.tools.builtin.wrapped import to_text, wrap

    node = tmp_path / "node"
    node.mkdir()
    (node / "chart.png").write_bytes(b"\x89PNG-bytes")
    (node / "table.csv").write_text("x,y\n")
    text = f"drawn:\n![chart]({node}/chart.png)\nsaved [table]({node}/table.csv), see [docs](https://example.org)"
    wrapped = wrap(text, [node])
    assert wrapped["type"] == "composite"
    kinds = [(p["type"], p.get("media_type"), p.get("name")) for p in wrapped["data"]]
    assert kinds == [("simple", None, None), ("binary", "image/png", "chart.png"), ("simple", None, None),
                     ("binary", "text/csv", "table.csv"), ("simple", None, None)]
    assert wrap("just text", [node]) == {"type": "simple", "data": "just text"}
    assert wrap({"a": 1}, [node]) == {"type": "simple", "data": {"a": 1}}
    assert wrap(f"![x]({tmp_path}/elsewhere.png)", [node])["type"] == "simple"  # not under the node's folders
    back = to_text(wrapped, tmp_path / "local")
    image = Path(back.split("![chart.png](")[1].split(")")[0])
    assert image.read_bytes() == b"\x89PNG-bytes" and image.is_relative_to(tmp_path / "local")
    assert back.endswith("see [docs](https://example.org)")


def test_the_new_errors_pickle() -> None:
    import pickle

    from deploy.tool_manager.manager import NodeCallError
    from deploy.tool_node.host import NodeError

    for error in (WorkspacePathError("outside", path="../x"), NodeError(400, "bad", "ToolArgumentError"),
                  NodeCallError(400, "outside", "WorkspacePathError")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and vars(back) == vars(error) and str(back) == str(error)

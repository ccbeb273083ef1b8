"""deploy/serve_config.yaml (both applications, one Serve) and deploy/k8s/rayservice.yaml (the same
applications as a KubeRay RayService, checked against the RayService schema)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "deploy" / "serve_config.yaml"
MANIFEST = ROOT / "deploy" / "k8s" / "rayservice.yaml"
SCHEMA = ROOT / "deploy" / "k8s" / "rayservice.schema.json"


def _serve_schema(raw: dict[str, Any]) -> Any:
    from ray.serve.schema import ServeDeploySchema

    return ServeDeploySchema.model_validate(raw)


def _apps(raw: dict[str, Any]) -> dict[str, Any]:
    return {a.name: a for a in _serve_schema(raw).applications}


def test_config_file_has_both_applications_on_one_port() -> None:
    raw = yaml.safe_load(CONFIG.read_text())
    schema = _serve_schema(raw)
    assert schema.http_options.port == 31512 and schema.http_options.host == "127.0.0.1"
    apps = _apps(raw)
    assert (apps["assistant"].route_prefix, apps["tool_manager"].route_prefix) == ("/", "/tool_manager")
    assert apps["assistant"].import_path == "deploy.assistant.serve_app:build"
    assert apps["tool_manager"].import_path == "deploy.tool_manager.serve_app:build"
    assert "token" not in apps["tool_manager"].args  # a secret never sits in the file


@pytest.mark.ray
def test_config_file_applications_serve_side_by_side(serve_port: int, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve's own builder call for each application of the file, both on one Serve; the tool
    manager takes its token from TOOL_MANAGER_TOKEN, the assistant reaches it with the same."""
    from ray import serve
    from ray._common.utils import import_attr
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    token = "token-from-the-environment"
    monkeypatch.setenv("TOOL_MANAGER_TOKEN", token)
    base = f"http://127.0.0.1:{serve_port}"
    more: dict[str, dict[str, Any]] = {
        "assistant": {"model_server": "scripted", "model": "scripted", "llm_extra": {"replies": ["both up"]},
                      "knowledge_dir": str(tmp_path), "tool_manager_url": f"{base}/cfg-tools"},
        "tool_manager": {"manager_id": f"cfg{os.getpid()}", "pool_size": 0, "db_path": str(tmp_path / "tm.db")},
    }
    prefixes = {"assistant": "/cfg-assistant", "tool_manager": "/cfg-tools"}
    for name, app in _apps(yaml.safe_load(CONFIG.read_text())).items():
        built = call_user_app_builder_with_args_if_necessary(import_attr(app.import_path), {**app.args, **more[name]})
        serve.run(built, name=f"cfg-{name}", route_prefix=prefixes[name])
    try:
        r = httpx.post(f"{base}/cfg-assistant/v1/chat/completions", timeout=60,
                       json={"messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "both up", r.text
        tools = f"{base}/cfg-tools/tools"
        assert httpx.get(tools, timeout=60).status_code == 401
        assert httpx.get(tools, headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code == 200
    finally:
        for name in prefixes:
            serve.delete(f"cfg-{name}")


def _manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())  # type: ignore[no-any-return]


def test_rayservice_manifest_matches_the_rayservice_schema() -> None:
    jsonschema.validate(_manifest(), json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "rayClusterConfig", "headGroupSpec", "rayStartParams", "num-cpus"), 2),  # a number, not a string
    (("spec", "rayClusterConfig", "workerGroupSpecs", 0, "replica"), 1),  # misspelt
    (("spec", "rayClusterConfig", "headGroupSpec", "template", "spec", "containers", 0, "enviroment"), []),
    (("kind",), "RayCluster"),
    (("spec", "upgradeStrategy", "type"), "BlueGreen"),
])
def test_the_schema_catches_mistakes(path: tuple[Any, ...], value: Any) -> None:
    bad = copy.deepcopy(_manifest())
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA.read_text()))


def test_rayservice_serves_the_config_files_applications() -> None:
    spec = _manifest()["spec"]
    serve_config = yaml.safe_load(spec["serveConfigV2"])
    k8s, local = _apps(serve_config), _apps(yaml.safe_load(CONFIG.read_text()))
    assert {n: (a.import_path, a.route_prefix) for n, a in k8s.items()} == \
        {n: (a.import_path, a.route_prefix) for n, a in local.items()}
    assert _serve_schema(serve_config).http_options.host == "0.0.0.0"  # reachable through the pod's Service
    cluster = spec["rayClusterConfig"]
    from ray import __version__ as ray_version

    assert cluster["rayVersion"] == ray_version
    pods = [cluster["headGroupSpec"]["template"]] + [w["template"] for w in cluster["workerGroupSpecs"]]
    for pod in pods:
        (container,) = pod["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["RAY_SERVE_ENABLE_HA_PROXY"]["value"] == "1"
        assert env["RAY_SERVE_HAPROXY_BINARY_PATH"]["value"].endswith("/msagent-haproxy")
        assert env["TOOL_MANAGER_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "tool-manager-token"
        assert 8000 in {p["containerPort"] for p in container["ports"]}
    # the tool manager (and its nodes, on its machine) sits where Docker is
    docker = json.loads(json.loads(cluster["headGroupSpec"]["rayStartParams"]["resources"]))
    assert docker == {"docker": 1}
    (deployment,) = k8s["tool_manager"].deployments
    assert deployment.ray_actor_options.resources == {"docker": 0.01}
    assert any(v.get("hostPath", {}).get("path") == "/var/run/docker.sock"
               for v in cluster["headGroupSpec"]["template"]["spec"]["volumes"])

"""The tool-node image: base image as a build argument, the Debian archive read from apt's sources at
run time (no archive host written in the repository), and the content-hash tag reused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deploy.tool_node.base_image import apt_source
from msagent.errors import ConfigError

TOOL_NODE = Path(__file__).resolve().parents[2] / "deploy" / "tool_node"


def test_dockerfiles_take_their_base_as_a_build_argument() -> None:
    deps = (TOOL_NODE / "Dockerfile.deps").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", deps, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", deps, re.M)
    node = (TOOL_NODE / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{DEPS_IMAGE\}$", node, re.M)  # the node image sits on the dependencies image
    tools = (TOOL_NODE / "Dockerfile.tools").read_text()
    assert re.search(r"^FROM \$\{NODE_IMAGE\}$", tools, re.M)  # users' tools on the node image
    for text in (node, tools):
        assert re.findall(r"^USER .*$", text, re.M)[-1] == "USER 10001:10001"  # the images run non-root
    for text in (deps, node, tools):  # installs from the wheels downloaded on the host, never from an index
        assert all("--no-index" in line for line in text.splitlines() if "pip install" in line)


def test_no_archive_or_registry_host_is_written_in_the_build() -> None:
    for path in TOOL_NODE.iterdir():
        if path.is_file() and (path.suffix in ("", ".py", ".sh") or path.name.startswith("Dockerfile")):
            hosts = re.findall(r"[a-z]+://[\w.-]+|\b[\w-]+\.(?:debian|ubuntu)\.(?:org|com)\b", path.read_text())
            assert hosts == [], (path.name, hosts)


def test_apt_source_reads_the_configured_archive(tmp_path: Path) -> None:
    missing = tmp_path / "sources.list"
    d = tmp_path / "sources.list.d"
    d.mkdir()
    # deb822, as on Debian 12: -updates and -security suites are skipped, a disabled stanza too
    (d / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm-updates bookworm\n"
        "Components: main contrib\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://old.example/debian\nSuites: bullseye\nComponents: main\n"
    )
    # a vendor's repository with 'main' comes first by name, but is not a Debian archive
    (d / "a-vendor.sources").write_text("Types: deb\nURIs: https://vendor.example/node\nSuites: nodistro\n"
                                        "Components: main\n")
    assert apt_source(missing, d) == ("bookworm", "http://mirror.example/debian")
    # the one-line format, in sources.list or in a .list file of the directory
    (d / "debian.sources").unlink()
    (d / "debian.list").write_text("# deb http://commented.example/debian sid main\n"
                                   "deb [arch=amd64] http://local.example/debian trixie-updates main\n"
                                   "deb [arch=amd64 signed-by=/k.gpg] http://local.example/debian trixie main\n")
    assert apt_source(missing, d) == ("trixie", "http://local.example/debian")
    listed = tmp_path / "sources.list"
    listed.write_text("deb http://first.example/debian bookworm main\n")
    assert apt_source(listed, d) == ("bookworm", "http://first.example/debian")
    for f in d.iterdir():
        f.unlink()
    listed.write_text("deb http://x.example/debian bookworm contrib\n")
    with pytest.raises(ConfigError, match="no Debian archive"):
        apt_source(listed, d)


@pytest.mark.docker
def test_image_is_reused_by_its_content_hash(tool_image: str, docker_client: Any) -> None:
    from deploy.tool_node.image import IMAGE_REPO, LATEST, build_image

    assert re.fullmatch(rf"{IMAGE_REPO}:[0-9a-f]{{12}}", tool_image)
    current = build_image()  # the session's image, unless this checkout changed since (other work going on)
    lines: list[str] = []
    again = build_image(progress=lines.append)
    assert again == current and lines[-1] == f"image {current} is up to date"
    assert not [line for line in lines if "docker build" in line or "downloading" in line]  # nothing was rebuilt
    assert docker_client.images.get(LATEST).id == docker_client.images.get(current).id
    from deploy.tool_node.image import image_tool_names

    served = image_tool_names(docker_client.images.get(current)) or []  # asked from the image at build time
    assert {"calculator", "code_interpreter", "FileSystemEnv_write_to_file", "PythonNotebook_execute_cell",
            "ShellEnv_execute_command", "WebEnv_search", "RapidAPIEnv_call_api"} <= set(served)
    deps = docker_client.images.get(current).attrs["Config"]["Labels"]
    assert deps["msagent.image"] == "tool-node"
    with pytest.raises(ConfigError, match="not present locally"):
        build_image(base_image="msagent/no-such-base:0")


def test_build_image_refuses_bad_tool_sources_before_building(tmp_path: Path) -> None:
    import subprocess
    import sys

    def build(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "msagent", "build-image", *args], capture_output=True,
                              text=True, timeout=120)

    run = build("--tools", str(tmp_path / "missing.py"))
    assert run.returncode == 1 and "neither a .py file, a package folder nor an importable" in run.stderr
    (tmp_path / "folder").mkdir()
    run = build("--tools", str(tmp_path / "folder"))
    assert run.returncode == 1 and "without __init__.py" in run.stderr
    run = build("--tag", "mine:1")
    assert run.returncode == 2 and "go with --tools" in run.stderr

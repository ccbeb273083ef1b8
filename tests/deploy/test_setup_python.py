"""The setup's Python part on a stock Debian Python that refuses `pip install` (PEP 668), in a
container made from the project's own offline Debian base image: it makes a venv under the data
dir, installs msagent there and puts `msagent` on the PATH.

Offline and fast: no network in the container; msagent's dependencies come from this machine's
site-packages, mounted read-only where Debian's Python looks (/usr/local/lib/python3.11/dist-packages),
minus msagent itself, so pip finds them installed instead of downloading them."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
LABEL = "msagent.test-setup"

SCRIPT = r"""
set -eu
python3 --version
! python3 -m pip install --no-index nothing-at-all 2>err.txt
grep -q externally-managed-environment err.txt && echo "system pip refuses: PEP 668"
bash /src/deploy/setup/python_env.sh install ""
echo "msagent at: $(command -v msagent) -> $(readlink -f "$(command -v msagent)")"
msagent --help | head -3
msagent serve --help | grep -q "tool-manager" && echo "msagent serve works"
/root/.msagent/venv/bin/python -c "import msagent, deploy; print('imports from', msagent.__file__)"
bash /src/deploy/setup/python_env.sh install "" && echo "second run: fine"
"""


def _debian_python_version(image: str, client: Any) -> str:
    out = client.containers.run(image, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                remove=True, network_disabled=True, labels={LABEL: "1"})
    return out.decode().strip()  # type: ignore[no-any-return]


def test_setup_makes_a_venv_where_debian_refuses_pip(tmp_path: Path) -> None:
    from deploy.tool_node.base_image import build_debian_base
    from deploy.tool_node.image import docker_client

    client = docker_client()
    image = build_debian_base(client)
    version = _debian_python_version(image, client)
    site = Path(sysconfig.get_paths()["purelib"])
    if f"python{version}" not in str(site):
        pytest.skip(f"this machine's Python is not {version}: its site-packages cannot stand in for the index")
    # the repository's files, writable (an editable install writes its metadata next to them)
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    # the dependencies, without msagent's own entries
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in site.iterdir():
        if "msagent" not in entry.name:
            (deps / entry.name).symlink_to(entry)
    run = client.containers.run(
        image, ["bash", "-c", SCRIPT], detach=True, network_disabled=True, labels={LABEL: "1"}, working_dir="/tmp",
        environment={"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        volumes={str(src): {"bind": "/src", "mode": "rw"}, str(site): {"bind": str(site), "mode": "ro"},
                 str(deps): {"bind": f"/usr/local/lib/python{version}/dist-packages", "mode": "ro"}},
    )
    try:
        code = run.wait(timeout=600)["StatusCode"]
        out = run.logs().decode(errors="replace")
    finally:
        run.remove(force=True)
    assert code == 0, out
    assert "system pip refuses: PEP 668" in out
    assert "virtual environment: /root/.msagent/venv (the system Python refuses pip install: PEP 668)" in out
    assert "msagent at: /usr/local/bin/msagent -> /root/.msagent/venv/bin/msagent" in out
    assert "msagent serve works" in out and "imports from /src/msagent/__init__.py" in out
    assert "second run: fine" in out

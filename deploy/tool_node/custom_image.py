"""``msagent build-image --tools <module or path> ...``: the tool-node image plus the user's own
registered tools, offline.

Each source is a ``.py`` file, a package folder, or an importable module name (its file or top
package is copied). Their requirements (``--requirements`` files, and a ``requirements.txt`` inside
a package folder) are downloaded as wheels on the host. The image ``msagent/tool-node-custom:<hash>``
(and ``:latest``, or ``--tag``) imports the modules at start, so their ``@register_tool`` classes are
served like built-ins; it is labelled with every tool it serves. Pick it with the manager's
``--image`` (every node, the warm pool and XAgent sessions) or a create's ``tool_image``.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path

from deploy.tool_node import wheels
from deploy.tool_node.docker_build import build, image_exists, image_tool_names, label_with_tools, prune
from deploy.tool_node.image import build_image, docker_client, python_of
from deploy.tool_node.wheels import HERE, Progress
from msagent.errors import ConfigError

log = logging.getLogger(__name__)

CUSTOM_REPO = "msagent/tool-node-custom"


def _stage(source: str, dest: Path) -> tuple[str, list[Path]]:
    """Copy one source under ``dest``; (module to import, requirement files found)."""
    path = Path(source)
    if path.suffix == ".py" and path.is_file():
        shutil.copy(path, dest / path.name)
        return path.stem, []
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise ConfigError(f"'{source}' is a folder without __init__.py; pass a package or .py files")
        shutil.copytree(path, dest / path.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        req = path / "requirements.txt"
        return path.name, [req] if req.is_file() else []
    try:
        spec = importlib.util.find_spec(source)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ConfigError(f"'{source}' is neither a .py file, a package folder nor an importable Python module")
    top = source.split(".")[0]
    top_spec = importlib.util.find_spec(top)
    if top_spec is not None and top_spec.submodule_search_locations:  # a package: copy all of it
        folder = Path(next(iter(top_spec.submodule_search_locations)))
        if not (dest / top).exists():
            shutil.copytree(folder, dest / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        req = folder / "requirements.txt"
        return source, [req] if req.is_file() else []
    shutil.copy(spec.origin, dest / f"{top}.py")
    return source, []


def check_sources(sources: list[str]) -> None:
    """Each source can be staged (before anything is built): ``ConfigError`` naming a bad one."""
    with tempfile.TemporaryDirectory(prefix="msagent-tools-check-") as tmp:
        for source in sources:
            _stage(source, Path(tmp))


def build_tools_image(sources: list[str], requirements: list[str] | None = None, tag: str | None = None,
                      node_image: str | None = None, progress: Progress = log.info,
                      force: bool = False) -> tuple[str, list[str]]:
    """Build (or reuse) the image with the user's tools; (its tag, the user's tool names)."""
    if not sources:
        raise ConfigError("name at least one tool module or path with --tools")
    client = docker_client()
    node = node_image or build_image(progress=progress)
    if not image_exists(client, node):
        raise ConfigError(f"the tool-node image '{node}' is not present; run `msagent build-image` first")
    base_tools = set(image_tool_names(client.images.get(node)) or [])
    with tempfile.TemporaryDirectory(prefix="msagent-tools-") as tmp:
        ctx = Path(tmp)
        (ctx / "tools").mkdir()
        modules: list[str] = []
        req_files = [Path(r) for r in requirements or []]
        for source in sources:
            module, found = _stage(source, ctx / "tools")
            modules.append(module)
            req_files += found
        reqs: list[str] = []
        for f in req_files:
            if not f.is_file():
                raise ConfigError(f"requirements file '{f}' does not exist")
            reqs += wheels.requirement_lines(f)
        dockerfile = (HERE / "Dockerfile.tools").read_text()
        digest = wheels.tree_hash([ctx / "tools"], [dockerfile, client.images.get(node).id, *reqs, *modules])
        target = tag or f"{CUSTOM_REPO}:{digest}"
        if not force and tag is None and image_exists(client, target):
            names = image_tool_names(client.images.get(target)) or []
            client.images.get(target).tag(CUSTOM_REPO, "latest")
            progress(f"image {target} is up to date")
            return target, sorted(set(names) - base_tools)
        shutil.copy(HERE / "Dockerfile.tools", ctx / "Dockerfile")
        if reqs:
            wheels.download(ctx / "wheels", reqs, *python_of(client, node), progress)
        else:
            (ctx / "wheels").mkdir()
            (ctx / "wheels" / "requirements.txt").write_text("")
        progress(f"docker build {target} from {node} with {', '.join(modules)}")
        build(client, ctx, target, {"NODE_IMAGE": node, "TOOL_MODULES": ",".join(modules)}, progress)
    names = label_with_tools(client, target, {"msagent.image": "tool-node-custom"}, progress)
    added = sorted(set(names) - base_tools)
    if not added:
        client.images.remove(target, force=True)
        raise ConfigError(f"{', '.join(sources)} registered no new tool; decorate BaseTool subclasses with "
                          "@register_tool('name')")
    if tag is None:
        client.images.get(target).tag(CUSTOM_REPO, "latest")
        prune(client, CUSTOM_REPO, target)
    progress(f"built {target}: the user's tools {', '.join(added)}")
    return target, added

"""Docker steps shared by the tool-node images: build from a context, ask the built image which
tools it serves and label it with them (``msagent.tools``: what the manager checks a create
against), and drop older content-hash tags."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msagent.errors import RuntimeFailure

log = logging.getLogger(__name__)

LABEL_TOOLS = "msagent.tools"
KEEP_TAGS = 3  # content-hash tags always kept per repository (and every one younger than a day)
_LIST_TOOLS = "import json, deploy.tool_node.server as s, os; s.import_tool_modules(os.environ.get(s.MODULES_ENV, ''));" \
              " from msagent.tools import tool_names; print(json.dumps(tool_names()))"


def image_exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def image_tool_names(image: Any) -> list[str] | None:
    """The tools an image serves, from its label; None when it has none (a foreign image)."""
    text = ((image.attrs.get("Config") or {}).get("Labels") or {}).get(LABEL_TOOLS)
    try:
        names = json.loads(text) if text else None
    except ValueError:
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def build(client: Any, ctx: Path | None, tag: str, buildargs: dict[str, str], progress: Callable[[str], None],
          labels: dict[str, str] | None = None, dockerfile: bytes | None = None) -> None:
    """``docker build`` of a context folder (or of a bare Dockerfile), offline."""
    kwargs: dict[str, Any] = {"tag": tag, "buildargs": buildargs, "rm": True, "decode": True,
                              "labels": labels or {}, "network_mode": "none"}
    if dockerfile is not None:
        kwargs["fileobj"] = io.BytesIO(dockerfile)
    else:
        kwargs["path"] = str(ctx)
    for chunk in client.api.build(**kwargs):
        if "error" in chunk:
            raise RuntimeFailure(f"docker build failed: {chunk['error'].strip()}")
        line = str(chunk.get("stream", "")).strip()
        if line.startswith("Step "):
            progress(line)


def label_with_tools(client: Any, tag: str, labels: dict[str, str], progress: Callable[[str], None]) -> list[str]:
    """Start the built image once (no network): its server must import and its tools register;
    then label it with their names (a one-line build on top, same tag)."""
    import docker.errors

    try:
        out = client.containers.run(tag, ["python3", "-c", _LIST_TOOLS], remove=True, network_mode="none")
        names = json.loads(out.decode().strip().splitlines()[-1])
    except (docker.errors.ContainerError, ValueError, IndexError) as e:
        detail = e.stderr.decode(errors="replace")[-2000:] if isinstance(e, docker.errors.ContainerError) and \
            isinstance(e.stderr, bytes) else str(e)
        client.images.remove(tag, force=True)
        raise RuntimeFailure(f"the built image {tag} cannot load its tools: {detail}") from e
    build(client, None, tag, {}, progress, labels={**labels, LABEL_TOOLS: json.dumps(names)},
          dockerfile=f"FROM {tag}\n".encode())
    return [str(n) for n in names]


def prune(client: Any, repo: str, keep: str) -> None:
    """Drop the content-hash tags of ``repo`` older than a day, past the newest ``KEEP_TAGS`` (an image
    some container still uses stays). Recent ones stay: another checkout's session may be using one,
    and beside the shared dependencies layer each is a few MB."""
    import datetime

    cutoff = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).isoformat()
    tagged = []
    for image in client.images.list(name=repo):
        for tag in image.tags:
            if tag.startswith(repo + ":") and not tag.endswith(":latest") and tag != keep:
                tagged.append((image.attrs.get("Created", ""), tag))
    for created, tag in sorted(tagged, reverse=True)[KEEP_TAGS - 1:]:
        if created >= cutoff:
            continue
        try:
            client.images.remove(tag)
        except Exception:  # noqa: BLE001  (in use, or removed meanwhile)
            log.debug("kept %s", tag)

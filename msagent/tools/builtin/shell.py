"""The shell (XAgent's ``ShellEnv``): run a command in the workspace with a timeout (past it the
command's whole process group is killed and that is reported), or start it in the background and
read its output later.

A background job lives in files (``<data dir>/shell_jobs/<id>.{log,exit,pid}``), so the tool that
starts it and the one that reads it share nothing but the disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from msagent.errors import ToolArgumentError, ToolError
from msagent.schemas import new_id
from msagent.settings import data_dir
from msagent.tools.builtin.env_tool import EnvTool
from msagent.tools.registry import register_tool

_MAX_TIMEOUT = 3600.0
_OUTPUT_CHARS = 20000
_JOB = {"type": "string", "description": "the job id ShellEnv_execute_command answered"}


def _tail(text: str) -> str:
    return text if len(text) <= _OUTPUT_CHARS else f"... (first {len(text) - _OUTPUT_CHARS} characters cut)\n" + \
        text[-_OUTPUT_CHARS:]


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the command and everything it started
    except (ProcessLookupError, PermissionError):
        pass


class _ShellTool(EnvTool):
    env = "ShellEnv"

    @property
    def jobs(self) -> Path:
        return Path(self.cfg.get("jobs_dir") or data_dir("shell_jobs"))

    def job(self, job_id: Any) -> tuple[Path, int | None]:
        job_id = str(job_id)
        if not job_id.isalnum() or not (self.jobs / f"{job_id}.pid").is_file():
            raise ToolArgumentError(f"no background job '{job_id}'; start one with ShellEnv_execute_command "
                                    "and background=true")
        exit_file = self.jobs / f"{job_id}.exit"
        text = exit_file.read_text().strip() if exit_file.is_file() else ""
        return self.jobs / job_id, int(text) if text.lstrip("-").isdigit() else None


@register_tool("ShellEnv_execute_command")
class ExecuteCommand(_ShellTool):
    description = ("Run a bash command in the workspace and return its exit code and output. Past `timeout` "
                   "seconds the command is killed. With background=true it starts and returns a job id at once; "
                   "read its output with ShellEnv_read_output.")
    parameters = {"type": "object", "required": ["command"], "properties": {
        "command": {"type": "string", "description": "the bash command (no interactive input)"},
        "timeout": {"type": "number", "description": "seconds before the command is killed (default 60)"},
        "background": {"type": "boolean", "description": "start it and return a job id at once"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        command = str(args["command"])
        if not command.strip():
            raise ToolArgumentError("'command' is empty; send the bash command to run")
        timeout = float(args.get("timeout") or self.cfg.get("command_timeout") or 60)
        if not 0 < timeout <= _MAX_TIMEOUT:
            raise ToolArgumentError(f"'timeout' must be between 0 and {_MAX_TIMEOUT:g} seconds, got {timeout:g}")
        if args.get("background"):
            return self._background(command)
        proc = subprocess.Popen(["bash", "-c", command], cwd=self.workspace, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                env=_env())
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc.pid)
            out, _ = proc.communicate()
            text = out.decode(errors="replace")
            raise ToolError(f"the command was killed after {timeout:g} s (its timeout); output before that:\n"
                            f"{_tail(text) or '(none)'}\nrun long commands with background=true") from None
        return f"exit code {proc.returncode}\n{_tail(out.decode(errors='replace'))}".rstrip()

    def _background(self, command: str) -> str:
        self.jobs.mkdir(parents=True, exist_ok=True)
        job_id = new_id()[:12]
        base = self.jobs / job_id
        script = f'( {command}\n) > "{base}.log" 2>&1 < /dev/null; echo $? > "{base}.exit.tmp"; ' \
                 f'mv "{base}.exit.tmp" "{base}.exit"'
        proc = subprocess.Popen(["bash", "-c", script], cwd=self.workspace, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env=_env())
        (self.jobs / f"{job_id}.pid").write_text(str(proc.pid))
        return f"started background job {job_id}; read its output with ShellEnv_read_output {{\"job_id\": \"{job_id}\"}}"


@register_tool("ShellEnv_read_output")
class ReadOutput(_ShellTool):
    description = "The output so far of a background job and whether it is still running (optionally wait for it)."
    parameters = {"type": "object", "required": ["job_id"], "properties": {
        "job_id": _JOB, "wait": {"type": "number", "description": "seconds to wait for the job to end (default 0)"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        base, code = self.job(args["job_id"])
        deadline = time.monotonic() + min(float(args.get("wait") or 0), _MAX_TIMEOUT)
        while code is None and time.monotonic() < deadline:
            time.sleep(0.05)
            base, code = self.job(args["job_id"])
        log = Path(f"{base}.log")
        text = log.read_text(errors="replace") if log.is_file() else ""
        state = "still running" if code is None else f"finished with exit code {code}"
        return f"job {args['job_id']} {state}\n{_tail(text)}".rstrip()


@register_tool("ShellEnv_kill_job")
class KillJob(_ShellTool):
    description = "Stop a background job (and every process it started)."
    parameters = {"type": "object", "required": ["job_id"], "properties": {"job_id": _JOB}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        base, code = self.job(args["job_id"])
        if code is not None:
            return f"job {args['job_id']} had already finished with exit code {code}"
        _kill(int(Path(f"{base}.pid").read_text()))
        Path(f"{base}.exit").write_text(str(-signal.SIGKILL))  # its wrapper died with it: record the end here
        return f"job {args['job_id']} killed"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOOL_NODE_SECRET", None)  # commands run in a node never see its node's secret
    return env

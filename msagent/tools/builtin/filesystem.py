"""The file editor (XAgent's ``FileSystemEnv``): list, read line ranges, write, insert / replace /
delete lines of text files, inside the workspace only. Line numbers start at 1; what changed is
shown back with numbers, so the model needs no extra read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msagent.errors import ToolArgumentError, ToolError
from msagent.tools.builtin.env_tool import EnvTool
from msagent.tools.builtin.workspace import relative
from msagent.tools.registry import register_tool

_MAX_CHARS = 20000
_MAX_ENTRIES = 300
_FILEPATH = {"type": "string", "description": "the file, relative to the workspace root (e.g. 'src/main.py')"}
_LINE = {"type": "integer", "minimum": 1}


def _schema(required: list[str], **props: dict) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


def numbered(lines: list[str], first: int = 1) -> str:
    out = "".join(f"{i:>5}: {line if line.endswith(chr(10)) else line + chr(10)}" for i, line in enumerate(lines, first))
    if len(out) > _MAX_CHARS:
        out = out[:_MAX_CHARS] + f"\n... (cut at {_MAX_CHARS} characters; read a smaller line range)\n"
    return out.rstrip("\n")


class _FileTool(EnvTool):
    env = "FileSystemEnv"

    def _lines(self, full: Path, shown: str) -> list[str]:
        if not full.is_file():
            raise ToolError(f"file '{shown}' does not exist in the workspace; FileSystemEnv_list_files shows what does")
        data = full.read_bytes()
        if b"\x00" in data[:8192]:
            raise ToolError(f"'{shown}' is not a text file")
        return data.decode("utf-8", errors="replace").splitlines(keepends=True)

    def _write(self, full: Path, lines: list[str]) -> None:
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines), encoding="utf-8")

    def _range(self, args: dict[str, Any], count: int, shown: str) -> tuple[int, int]:
        start, end = int(args["start_line"]), int(args.get("end_line") or args["start_line"])
        if start < 1:
            raise ToolArgumentError(f"start_line must be 1 or more (lines are numbered from 1), got {start}")
        if start > count:
            raise ToolArgumentError(f"start_line {start} is past the end of '{shown}' ({count} lines)")
        if end < start:
            raise ToolArgumentError(f"end_line {end} is before start_line {start}")
        return start, min(end, count)


@register_tool("FileSystemEnv_list_files")
class ListFiles(_FileTool):
    description = "List the files and folders under a folder of the workspace as a tree."
    parameters = _schema([], path={"type": "string", "description": "a folder relative to the workspace root "
                                                                    "(default: the root)"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        root = self.workspace
        top = self.path(self.verify_args(params).get("path") or ".", "path")
        if not top.is_dir():
            raise ToolError(f"'{relative(root, top)}' is not a folder of the workspace")
        out = [f"{relative(root, top)}/"]
        for entry in sorted(top.rglob("*")):
            if len(out) > _MAX_ENTRIES:
                out.append(f"... (more than {_MAX_ENTRIES} entries; list a subfolder)")
                break
            depth = len(entry.relative_to(top).parts)
            out.append(f"{'    ' * depth}- {entry.name}{'/' if entry.is_dir() else ''}")
        return "\n".join(out)


@register_tool("FileSystemEnv_read_from_file")
class ReadFile(_FileTool):
    description = "Read a text file of the workspace, with line numbers; optionally only lines start_line..end_line."
    parameters = _schema(["filepath"], filepath=_FILEPATH, start_line={**_LINE, "description": "first line (default 1)"},
                         end_line={**_LINE, "description": "last line (default: the end)"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        full = self.path(args["filepath"])
        lines = self._lines(full, args["filepath"])
        if not lines:
            return f"'{args['filepath']}' is empty"
        start, end = self._range({"start_line": args.get("start_line") or 1,
                                  "end_line": args.get("end_line") or len(lines)}, len(lines), args["filepath"])
        return numbered(lines[start - 1:end], start)


@register_tool("FileSystemEnv_write_to_file")
class WriteFile(_FileTool):
    description = "Create or overwrite a text file of the workspace with the given content (folders are created)."
    parameters = _schema(["filepath", "content"], filepath=_FILEPATH,
                         content={"type": "string", "description": "the whole new content of the file"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        full = self.path(args["filepath"])
        if full.is_dir():
            raise ToolArgumentError(f"'{args['filepath']}' is a folder, not a file")
        lines = str(args["content"]).splitlines(keepends=True)
        self._write(full, lines)
        return f"wrote {len(lines)} lines to '{relative(self.workspace, full)}':\n{numbered(lines)}"


@register_tool("FileSystemEnv_insert_lines")
class InsertLines(_FileTool):
    description = "Insert text before line line_number of a file (line count + 1 appends)."
    parameters = _schema(["filepath", "line_number", "content"], filepath=_FILEPATH,
                         line_number={**_LINE, "description": "the new text starts at this line"},
                         content={"type": "string", "description": "the lines to insert"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        full = self.path(args["filepath"])
        lines = self._lines(full, args["filepath"]) if full.exists() else []
        at = int(args["line_number"])
        if at < 1:
            raise ToolArgumentError(f"line_number must be 1 or more (lines are numbered from 1), got {at}")
        if at > len(lines) + 1:
            raise ToolArgumentError(f"line_number {at} is past the end of '{args['filepath']}' ({len(lines)} lines); "
                                    f"use {len(lines) + 1} to append")
        new = str(args["content"]).splitlines(keepends=True)
        lines[at - 1:at - 1] = new
        self._write(full, lines)
        return f"inserted {len(new)} lines at line {at}:\n{numbered(lines[at - 1:at - 1 + len(new)], at)}"


@register_tool("FileSystemEnv_replace_lines")
class ReplaceLines(_FileTool):
    description = "Replace lines start_line..end_line of a file with new text."
    parameters = _schema(["filepath", "start_line", "content"], filepath=_FILEPATH, start_line=_LINE,
                         end_line={**_LINE, "description": "default: start_line"},
                         content={"type": "string", "description": "the replacement lines"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        full = self.path(args["filepath"])
        lines = self._lines(full, args["filepath"])
        start, end = self._range(args, len(lines), args["filepath"])
        new = str(args["content"]).splitlines(keepends=True)
        lines[start - 1:end] = new
        self._write(full, lines)
        return f"replaced lines {start}-{end}:\n{numbered(lines[start - 1:start - 1 + len(new)], start)}"


@register_tool("FileSystemEnv_delete_lines")
class DeleteLines(_FileTool):
    description = "Delete lines start_line..end_line of a file."
    parameters = _schema(["filepath", "start_line"], filepath=_FILEPATH, start_line=_LINE,
                         end_line={**_LINE, "description": "default: start_line"})

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        full = self.path(args["filepath"])
        lines = self._lines(full, args["filepath"])
        start, end = self._range(args, len(lines), args["filepath"])
        del lines[start - 1:end]
        self._write(full, lines)
        return f"deleted lines {start}-{end}; '{args['filepath']}' has {len(lines)} lines now"

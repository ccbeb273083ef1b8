"""Text out of uploaded documents (txt, md, pdf) and passages out of text."""

from __future__ import annotations

import io
import re

from msagent.knowledge.errors import InvalidFileError, UnsupportedFileTypeError

TEXT_TYPES = (".txt", ".md", ".markdown", ".text")
SUPPORTED = (*TEXT_TYPES, ".pdf")


def suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def extract_text(name: str, data: bytes) -> str:
    kind = suffix(name)
    if kind in TEXT_TYPES:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise InvalidFileError(f"{name}: not valid UTF-8 (or GB18030) text", name=name, field="files")
    if kind == ".pdf":
        return _pdf_text(name, data)
    raise UnsupportedFileTypeError(
        f"{name}: unsupported file type {kind or '(none)'}; upload one of {', '.join(SUPPORTED)}",
        name=name,
        field="files",
    )


def _pdf_text(name: str, data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as e:  # pragma: no cover - pypdf is in the 'knowledge' extra
        raise UnsupportedFileTypeError("reading PDFs needs pypdf: pip install 'msagent[knowledge]'") from e
    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise InvalidFileError(f"{name}: not a readable PDF ({e})", name=name, field="files") from e


def passages(text: str, size: int = 600) -> list[str]:
    """Paragraph-aligned pieces of at most ~``size`` characters (long paragraphs are cut)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out: list[str] = []
    current = ""
    for para in paragraphs:
        while len(para) > size:
            cut = max(para.rfind(" ", 0, size), para.rfind("。", 0, size) + 1, size // 2)
            pieces = para[:cut].strip()
            if current:
                out.append(current)
                current = ""
            out.append(pieces)
            para = para[cut:].strip()
        if current and len(current) + len(para) + 2 > size:
            out.append(current)
            current = para
        else:
            current = f"{current}\n\n{para}" if current else para
    if current:
        out.append(current)
    return out

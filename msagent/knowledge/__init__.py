"""Knowledge for agents: uploaded documents per uuid, an embedded BM25 index, passages in a budget."""

from msagent.knowledge.errors import (
    FileTooLargeError,
    InvalidFileError,
    KnowledgeNotFoundError,
    UnsupportedFileTypeError,
)
from msagent.knowledge.index import KnowledgeIndex, Passage
from msagent.knowledge.store import KnowledgeStore, format_passages

__all__ = [
    "FileTooLargeError",
    "InvalidFileError",
    "KnowledgeIndex",
    "KnowledgeNotFoundError",
    "KnowledgeStore",
    "Passage",
    "UnsupportedFileTypeError",
    "format_passages",
]

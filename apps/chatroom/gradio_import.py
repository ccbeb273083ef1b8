"""Importing Gradio without rewriting its type stubs: a third of the chat room's start-up CPU.

On every import, Gradio's component metaclass regenerates a ``.pyi`` stub next to each component's
source (it reads the source file, parses it and renders a template, 81 times). The stubs are for
editors, not for running the app. Measured on the 2-core dev machine with gradio 6.31: 1.2-1.5 s of
the 3.7-4.2 s of CPU that ``import gradio`` takes, before the page can answer.
``skip_stub_rewrite()`` makes the next import of Gradio skip that step (nothing else changes); if
Gradio is imported already, or its module no longer has that function, it does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)
MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def _no_stub(*args: Any, **kwargs: Any) -> None:
    return None


class _SkipStubRewrite(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual, then swaps its stub writer out once it has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if callable(getattr(module, FUNCTION, None)):
                setattr(module, FUNCTION, _no_stub)
            else:
                log.debug("%s has no %s: Gradio imports as usual", MODULE, FUNCTION)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_rewrite() -> None:
    """Before Gradio is imported: its import will not rewrite the ``.pyi`` stubs."""
    if "gradio" in sys.modules or any(isinstance(f, _SkipStubRewrite) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubRewrite())

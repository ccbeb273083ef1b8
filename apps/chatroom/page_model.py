"""The model picker panel: which model this browser session's rooms use.

The choice is kept in a ``gr.State`` (server memory of that session): the key typed here is never
written anywhere, and other sessions keep their own choice (the app's default until they pick).
"""

# No `from __future__ import annotations`: Gradio reads handler annotations at runtime.

from dataclasses import dataclass
from typing import Any

import gradio as gr

from apps.chatroom.models import describe
from apps.chatroom.page_form import error_box
from apps.chatroom.picker import KINDS, ModelChoice, probe, to_llm

KIND_LABELS = {kind: label for label, kind in KINDS.items()}


@dataclass
class ModelPanel:
    kind: Any
    base_url: Any
    model: Any
    api_key: Any
    use: Any
    message: Any
    errors: dict[str, Any]

    @classmethod
    def build(cls, local_name: str) -> "ModelPanel":
        with gr.Accordion("Model", open=False, elem_id="model-panel"):
            gr.Markdown(
                f"The local default is {local_name}: offline, small and quick. Or bring your own model; "
                "an API key typed here stays in this browser session (server memory) only."
            )
            kind = gr.Radio(list(KINDS), value=KIND_LABELS["local"], label="Model", elem_id="m-kind")
            with gr.Row():
                base_url = gr.Textbox(label="Base URL", placeholder="http://127.0.0.1:8000/v1", elem_id="m-base-url",
                                      visible=False, max_lines=1)  # fmt: skip
                model = gr.Textbox(label="Model name", placeholder="qwen-max", elem_id="m-model", visible=False,
                                   max_lines=1)  # fmt: skip
                api_key = gr.Textbox(label="API key", type="password", elem_id="m-api-key", visible=False, max_lines=1)
            errors = {k: error_box(k) for k in ("base_url", "model", "api_key")}
            use = gr.Button("Use this model", variant="primary", elem_id="m-use")
            message = gr.Markdown("", elem_id="m-message")
        panel = cls(kind, base_url, model, api_key, use, message, errors)
        kind.change(panel._fields_for, kind, [base_url, model, api_key])
        return panel

    @staticmethod
    def _fields_for(label: str) -> tuple[Any, ...]:
        kind = KINDS.get(label, "local")
        return (
            gr.update(visible=kind != "local", label="Base URL" + (" (optional)" if kind == "dashscope" else "")),
            gr.update(visible=kind != "local", placeholder="qwen-max" if kind == "dashscope" else "model name"),
            gr.update(visible=kind != "local", label="API key" + (" (optional)" if kind == "openai" else "")),
        )

    def inputs(self) -> list[Any]:
        return [self.kind, self.base_url, self.model, self.api_key]

    def outputs(self) -> list[Any]:
        return [self.message, *self.errors.values()]

    def choose(self, local: dict[str, Any], label: str, base_url: str, model: str, api_key: str) -> tuple[dict | None, list]:
        """(the session's new llm config or None when refused, updates for ``outputs()``)."""
        choice = ModelChoice(kind=KINDS.get(label, "local"), base_url=base_url or "", model=model or "",
                             api_key=api_key or "")  # fmt: skip
        llm, errors = to_llm(choice, local)
        if llm is None:
            return None, self._updates("Check the fields marked above.", errors)
        if choice.kind == "local":
            return llm, self._updates(f"Using {describe(llm)}.", {})
        ok, detail = probe(llm)
        if not ok:
            return None, self._updates(f"⚠ The model did not answer: {detail}", {})
        return llm, self._updates(f"Using {describe(llm)} ({detail}).", {})

    def _updates(self, message: str, errors: dict[str, str]) -> list[Any]:
        boxes = [gr.update(value=f"⚠ {errors[k]}" if k in errors else "", visible=k in errors) for k in self.errors]
        return [message, *boxes]

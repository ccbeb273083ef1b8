"""The "write a story" page: title, scene, topic, 2-8 characters (name, description, a line in their
voice, an avatar: built-in or uploaded) and who opens. Problems show next to their fields."""

# No `from __future__ import annotations`: Gradio reads handler annotations at runtime.

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from apps.chatroom.stories import MAX_ROLES
from apps.chatroom.user_stories import CharacterDraft, StoryDraft, builtin_avatars

INITIAL = "(initial)"
UPLOADED = "(uploaded) "
FIELDS = ("title", "setting", "topic", "characters", "opener")
ROW_FIELDS = ("name", "description", "sample", "avatar")
SHOWN_AT_FIRST = 3


def error_box(key: str) -> gr.Markdown:
    return gr.Markdown("", visible=False, elem_id=f"err-{key}", elem_classes=["field-error"])


@dataclass
class Row:
    group: Any
    name: Any
    description: Any
    sample: Any
    avatar: Any
    upload: Any
    upload_path: Any  # gr.State: where Gradio stored the uploaded image


@dataclass
class StoryForm:
    page: Any = None
    title: Any = None
    setting: Any = None
    topic: Any = None
    count: Any = None
    opener: Any = None
    rows: list[Row] = field(default_factory=list)
    errors: dict[str, Any] = field(default_factory=dict)
    save: Any = None
    cancel: Any = None
    message: Any = None

    @classmethod
    def build(cls) -> "StoryForm":
        f = cls()
        avatars = [INITIAL, *builtin_avatars()]
        with gr.Column(visible=False, elem_id="form-page") as f.page:
            gr.Markdown("## Write a story\nCharacters talk in the scene you set; you will play one of them.")
            f.title = gr.Textbox(label="Title", elem_id="f-title", max_lines=1)
            f.errors["title"] = error_box("title")
            f.setting = gr.Textbox(label="Scene (where and when; what just happened)", lines=3, elem_id="f-setting")
            f.errors["setting"] = error_box("setting")
            f.topic = gr.Textbox(label="Opening topic (what the opener raises)", lines=2, elem_id="f-topic")
            f.errors["topic"] = error_box("topic")
            f.count = gr.Slider(2, MAX_ROLES, value=SHOWN_AT_FIRST, step=1, label="Characters", elem_id="f-count")
            f.errors["characters"] = error_box("characters")
            for i in range(MAX_ROLES):
                with gr.Group(visible=i < SHOWN_AT_FIRST, elem_id=f"f-row-{i}", elem_classes=["f-row"]) as group:
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3, min_width=200):
                            name = gr.Textbox(label=f"Character {i + 1}: name (one word)", elem_id=f"f-name-{i}",
                                              max_lines=1)  # fmt: skip
                            f.errors[f"name-{i}"] = error_box(f"name-{i}")
                        with gr.Column(scale=2, min_width=160):
                            avatar = gr.Dropdown(avatars, value=INITIAL, label="Avatar", elem_id=f"f-avatar-{i}")
                            f.errors[f"avatar-{i}"] = error_box(f"avatar-{i}")
                        upload = gr.UploadButton(
                            "Upload avatar", file_types=[".png", ".jpg", ".jpeg", ".svg"], elem_id=f"f-upload-{i}",
                            size="sm", scale=1, min_width=110,
                        )  # fmt: skip
                    description = gr.Textbox(label="Who they are", elem_id=f"f-description-{i}", max_lines=2)
                    f.errors[f"description-{i}"] = error_box(f"description-{i}")
                    sample = gr.Textbox(label="A line in their voice (optional)", elem_id=f"f-sample-{i}", max_lines=2)
                    f.errors[f"sample-{i}"] = error_box(f"sample-{i}")
                f.rows.append(Row(group, name, description, sample, avatar, upload, gr.State("")))
            f.opener = gr.Dropdown([], label="Who opens", elem_id="f-opener", allow_custom_value=True)
            f.errors["opener"] = error_box("opener")
            with gr.Row():
                f.save = gr.Button("Save story", variant="primary", elem_id="f-save")
                f.cancel = gr.Button("Cancel", elem_id="f-cancel")
            f.message = gr.Markdown("", elem_id="f-message")
        f._wire()
        return f

    def _wire(self) -> None:
        self.count.change(lambda n: [gr.update(visible=i < int(n)) for i in range(MAX_ROLES)], self.count,
                          [r.group for r in self.rows])  # fmt: skip
        names = [r.name for r in self.rows]
        for row in self.rows:
            row.name.blur(self._openers, [self.opener, self.count, *names], self.opener)
            row.upload.upload(_uploaded, [row.upload, row.avatar], [row.upload_path, row.avatar])

    @staticmethod
    def _openers(current: str, count: float, *names: str) -> Any:
        choices = [n.strip() for n in names[: int(count)] if n and n.strip()]
        value = current if current in choices else (choices[0] if choices else None)
        return gr.update(choices=choices, value=value)

    # --- values -----------------------------------------------------------------------------------
    def inputs(self) -> list[Any]:
        """What ``draft`` reads, in order."""
        per_row = [c for r in self.rows for c in (r.name, r.description, r.sample, r.avatar, r.upload_path)]
        return [self.title, self.setting, self.topic, self.count, self.opener, *per_row]

    @staticmethod
    def draft(values: tuple[Any, ...]) -> StoryDraft:
        title, setting, topic, count, opener, *per_row = values
        characters = []
        for i in range(int(count)):
            name, description, sample, avatar, upload = per_row[i * 5 : i * 5 + 5]
            uploaded = bool(upload) and str(avatar or "").startswith(UPLOADED)
            characters.append(
                CharacterDraft(
                    name=name or "", description=description or "", sample=sample or "",
                    avatar="" if not avatar or avatar == INITIAL or uploaded else str(avatar),
                    upload=str(upload) if uploaded else "",
                )  # fmt: skip
            )
        return StoryDraft(title=title or "", setting=setting or "", topic=topic or "", opener=opener or "",
                          characters=characters)  # fmt: skip

    def error_outputs(self) -> list[Any]:
        return list(self.errors.values())

    def error_updates(self, errors: dict[str, str]) -> list[Any]:
        return [gr.update(value=f"⚠ {errors[k]}" if k in errors else "", visible=k in errors) for k in self.errors]

    def reset_updates(self) -> list[Any]:
        """Empty fields for the next story (the same order as ``reset_outputs``)."""
        rows = [
            u for _ in self.rows
            for u in (gr.update(value=""), gr.update(value=""), gr.update(value=""), gr.update(value=INITIAL), "")
        ]  # fmt: skip
        return ["", "", "", SHOWN_AT_FIRST, gr.update(value=None, choices=[]), *rows]

    def reset_outputs(self) -> list[Any]:
        return self.inputs()


def _uploaded(path: str | None, current: str) -> tuple[str, Any]:
    if not path:
        return "", gr.update()
    from pathlib import Path

    label = UPLOADED + Path(path).name
    return path, gr.update(choices=[INITIAL, *builtin_avatars(), label], value=label)

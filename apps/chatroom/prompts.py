"""What the room's agents read: the story so far, in the style their model handles best.

Prose (small local models): the scene, the cast with a line in each one's voice, then the talk as
``Name said, "..."`` lines, ending in the speaker's open quote; the model continues the story and
the closing quote ends the line. Every agent of a room reads the same text up to the last line,
so llama.cpp reuses its cache for that prefix and only the newest lines cost time.

Chat (hosted models): the role, scene and rules as the system message, the dialogue as the user's.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.chatroom.stories import Story, StoryRole
from msagent.schemas import Message

Line = tuple[str, str]  # (speaker, text); speaker '' is the topic the room was given
TOPIC_LEAD = "The talk turned to this:"
LINE_LIMIT = 400  # characters of one line in a prompt
# lead-ins for the prose style; a retry takes another one, so that the model starts differently
CUES = ('{name} said, "', '{name} thought for a moment and said, "', 'After a pause, {name} said, "')


def introduce(role: StoryRole) -> str:
    """'Mira, the old lighthouse keeper. Calm, stubborn, ...' (the description as written)."""
    text = role.description.strip()
    if text.split(" ", 1)[0].lower() in ("a", "an", "the"):
        text = f"{role.name}, {text[0].lower()}{text[1:]}"
    else:
        text = f"{role.name}: {text}"
    return text if text.endswith((".", "!", "?")) else text + "."


def story_header(story: Story) -> str:
    """The scene and the cast, each with a line in their voice (the few-shot part of the prompt)."""
    cast = []
    for role in story.roles:
        voice = f' {role.name} likes to say, "{role.sample.strip()}"' if role.sample else ""
        cast.append(introduce(role) + voice)
    return "\n".join([story.setting.strip(), *cast])


def visible(lines: Sequence[Line], keep: int) -> list[Line]:
    """The topic and the recent lines. The window moves in steps of ``keep // 2`` lines, not one
    line at a time, so that consecutive prompts share their beginning (llama.cpp's cache)."""
    topic = [line for line in lines if not line[0]][-1:]
    said = [line for line in lines if line[0]]
    step = max(1, keep // 2)
    start = 0 if len(said) <= keep + step else ((len(said) - keep) // step) * step
    return [*topic, *said[start:]]


def as_quoted(text: str, limit: int = LINE_LIMIT) -> str:
    """A line fit to stand between double quotes on one line of the story (and not too long:
    the user may paste a page, and the local model's context is small)."""
    text = " ".join(text.replace('"', "'").replace("“", "'").replace("”", "'").split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def prose_prompt(story: Story, lines: Sequence[Line], cue: str) -> str:
    told = [f"{TOPIC_LEAD} {as_quoted(text)}" if not who else f'{who} said, "{as_quoted(text)}"' for who, text in lines]
    return "\n".join([story_header(story), "", *told, cue])


def scene_prefix(story: Story) -> str:
    """How every prose prompt of ``story`` begins (worth evaluating before the first room)."""
    return prose_prompt(story, [], "")


def prose_cue(speaker: str, attempt: int) -> str:
    return CUES[attempt % len(CUES)].format(name=speaker)


def prose_instructions(story: Story, cue: str) -> list[str]:
    """The parts of a prose prompt that are not lines said in the room."""
    return [story_header(story), cue, TOPIC_LEAD]


def chat_prompt(story: Story, speaker: str, lines: Sequence[Line], attempt: int = 0) -> tuple[list[Message], list[str]]:
    """Role, scene and rules as the system message; the dialogue so far as the user's.
    Returns the messages and their instructions (the text that is not a line said in the room)."""
    me = story.role(speaker)
    others = " ".join(introduce(r) for r in story.roles if r.name != me.name)
    parts = [
        f"You are {introduce(me)}",
        f'You talk like this: "{me.sample.strip()}"' if me.sample else "",
        f"Scene: {story.setting.strip()}",
        f"Also here: {others}",
        f"Write only what {me.name} says next: one to three short sentences of speech, "
        "with no name or label in front.",
    ]
    system = "\n".join(p for p in parts if p)
    told = [f"Topic: {as_quoted(text, 2000)}" if not who else f"{who}: {as_quoted(text, 2000)}" for who, text in lines]
    ask = f"What does {me.name} say now?" + (" Say something that has not been said yet." if attempt else "")
    user = "\n".join([*told, "", ask]) if told else ask
    return [Message(role="system", content=system), Message(role="user", content=user)], [system, ask]


def director_instruction(story: Story) -> str:
    """Short on purpose: a small model loses long instructions."""
    names = ", ".join(story.role_names)
    return (
        f"You direct a play. Setting: {story.setting} Characters: {names}. "
        'Read the conversation and answer only with JSON like {"next_speakers": ["'
        f'{story.role_names[0]}"]}}: one or two characters who should speak next, '
        "never the one who just spoke."
    )


def director_chat_prompt(story: Story, lines: Sequence[Line]) -> list[Message]:
    told = [f"The scene: {as_quoted(text)}" if not who else f'{who} says: "{as_quoted(text)}"' for who, text in lines[-8:]]
    names = ", ".join(story.role_names)
    ask = f'Who of {names} should speak next? Answer only with JSON: {{"next_speakers": ["Name"]}}'
    return [Message(role="system", content=director_instruction(story)), Message(role="user", content="\n".join([*told, ask]))]

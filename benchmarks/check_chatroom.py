"""Does the chat room read like a story on a model? Counts per built-in story.

    python benchmarks/check_chatroom.py                       # every built-in story, the local model
    python benchmarks/check_chatroom.py --stories lighthouse  # one story
    python benchmarks/check_chatroom.py --model-server openai --api-base http://.../v1 --model m
    python benchmarks/check_chatroom.py --json out.json       # the counts as JSON too

Each story is played for ``--turns`` (12) character replies in a real room (in-process runtime, or
Ray with ``--ray``): the first role opens on the story's topic, the user plays the last role and
answers every turn with the next scripted line. Then, counted on the room's transcript:

- echo: a reply with 6 or more consecutive words of its prompt's instructions
- dup: a reply equal to an earlier line of the room (lower-case words, punctuation ignored)
- label: a reply starting with a speaker label ("Mira:", "Ares Base:")
- length: a reply outside 1-3 sentences
- unheard: cast members (not the user's role) who never spoke

and, for the record (not criteria): copy (6+ words of an earlier line), rep3 (the share of the
replies' 3-word runs said before in the room: lower reads less repetitive), second tries, silent
turns, how the director chose, seconds. The exit code is 1 when any criterion count is above zero.
The counting here is written apart from the room's own repair code on purpose.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# What the user's role says, turn after turn: plain lines any story can take.
USER_LINES = [
    "I think we should stay calm and look around first.",
    "Wait, did anyone hear that noise?",
    "I have an idea, but you will not like it.",
    "Tell me what you saw, all of it.",
    "We do not have much time left.",
    "Fine. Let us do it your way.",
    "Who else knows about this?",
    "Then it is settled.",
]
CRITERIA = ("echo", "dup", "label", "length", "unheard")


def word_list(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def runs_of(text: str, n: int) -> set[tuple[str, ...]]:
    ws = word_list(text)
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def sentence_count(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])[\"'”’)\]]*\s+", text.strip()) if re.search(r"\w", s)])


def starts_with_label(text: str, roles: list[str]) -> bool:
    if re.match(r"^\W*[A-Z][\w'.-]*(\s+[A-Z][\w'.-]*){0,2}\s*:", text):
        return True
    # "Mira says," is narration; "Mira, look!" addresses Mira and is fine
    return any(re.match(rf"^\W*{re.escape(r)}\s*(:|\s(says|said)\b)", text, re.I) for r in roles)


@dataclass
class StoryCounts:
    story: str
    replies: int = 0
    echo: int = 0
    dup: int = 0
    label: int = 0
    length: int = 0
    unheard: int = 0
    copy: int = 0
    rep3: float = 0.0
    retries: int = 0
    silent_turns: int = 0
    director: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    transcript: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(getattr(self, c) for c in CRITERIA)


def count(story: Any, user_role: str, lines: list[tuple[str, str]], instructions: dict[str, list[str]]) -> StoryCounts:
    """The criteria over a transcript of (role, text) say-lines, in order."""
    out = StoryCounts(story=story.id)
    roles = story.role_names
    earlier: list[str] = [story.topic]
    spoke: set[str] = set()
    seen3: set[tuple[str, ...]] = set(runs_of(story.topic, 3))
    new3 = old3 = 0
    for role, text in lines:
        mine3 = runs_of(text, 3)
        if role == user_role:
            earlier.append(text)
            seen3 |= mine3
            continue
        old3 += len(mine3 & seen3)
        new3 += len(mine3 - seen3)
        seen3 |= mine3
        out.replies += 1
        spoke.add(role)
        tag = f"{role}: {text!r}"
        own = set().union(*(runs_of(t, 6) for t in instructions.get(role, [])))
        if runs_of(text, 6) & own:
            out.echo += 1
            out.problems.append(f"echo {tag}")
        if " ".join(word_list(text)) in {" ".join(word_list(e)) for e in earlier}:
            out.dup += 1
            out.problems.append(f"dup {tag}")
        if any(runs_of(text, 6) & runs_of(e, 6) for e in earlier):
            out.copy += 1
        if starts_with_label(text, roles):
            out.label += 1
            out.problems.append(f"label {tag}")
        if not 1 <= sentence_count(text) <= 3:
            out.length += 1
            out.problems.append(f"length {tag}")
        earlier.append(text)
    out.rep3 = round(old3 / max(1, old3 + new3), 2)
    unheard = [r for r in roles if r != user_role and r not in spoke]
    out.unheard = len(unheard)
    out.problems += [f"unheard {r}" for r in unheard]
    return out


def play(story: Any, llm: dict[str, Any], turns: int, remote: bool, rotate: int = 0) -> StoryCounts:
    from apps.chatroom.room import ChatRoom
    from msagent.runtime.calls import call

    user_role = story.role_names[-1]
    room = ChatRoom(story, user_role, llm, remote=remote)
    started = time.perf_counter()
    try:
        lines = USER_LINES[rotate % len(USER_LINES) :] + USER_LINES[: rotate % len(USER_LINES)]
        user_lines = iter(lines * 4)

        def replies() -> int:
            return sum(1 for line in room.transcript if line.kind == "say" and line.role != user_role)

        for _ in room.begin(story.first_speaker, ""):
            pass
        while replies() < turns and room.phase == "your_turn":
            for _ in room.user_says(next(user_lines)):
                pass
        said = [(line.role, line.text) for line in room.transcript if line.kind == "say"]
        errors = [line.text for line in room.transcript if line.kind == "error"]
        agents = room.runtime.agents if room.runtime is not None else {}  # None: the room did not open
        stats = {r: call(a, "stats") for r, a in agents.items() if r != user_role}
    finally:
        room.close()
    kept: list[tuple[str, str]] = []
    ai = 0
    for role, text in said:  # the first `turns` replies and the user's lines among them
        if role != user_role:
            if ai == turns:
                break
            ai += 1
        kept.append((role, text))
    result = count(story, user_role, kept, {r: s["instructions"] for r, s in stats.items()})
    result.retries = sum(s["retries"] for s in stats.values())
    result.silent_turns = sum(s["silent"] for s in stats.values())
    result.director = dict(Counter(room.choices))
    result.seconds = round(time.perf_counter() - started, 1)
    result.transcript = [[r, t] for r, t in kept]
    result.problems += [f"error {e}" for e in errors]
    if ai < turns:
        result.problems.append(f"only {ai} replies")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stories", nargs="*", help="story ids (default: every built-in story)")
    p.add_argument("--turns", type=int, default=12)
    p.add_argument("--model-server", default="local")
    p.add_argument("--api-base", default=None)
    p.add_argument("--model", default=None, help="model name, or a .gguf path for the local server")
    p.add_argument("--api-key", default=None)
    p.add_argument("--ray", action="store_true", help="run the room's agents as Ray actors")
    p.add_argument("--rotate", type=int, default=0, help="start the user's lines at this one (another run)")
    p.add_argument("--json", default=None, help="also write the counts (and transcripts) to this file")
    p.add_argument("--quiet", action="store_true", help="no transcripts on stdout")
    args = p.parse_args(argv)

    from apps.chatroom.models import choose_llm, describe
    from apps.chatroom.stories import all_stories

    llm = choose_llm(args.model_server, args.api_base, args.model, args.api_key)
    stories = [s for s in all_stories() if not args.stories or s.id in args.stories]
    if not stories:
        p.error(f"no story with id {args.stories}")
    if args.ray:
        import ray

        ray.init(address="local", include_dashboard=False, log_to_driver=False)
    try:
        results = [play(story, llm, args.turns, args.ray, args.rotate) for story in stories]
    finally:
        if args.ray:
            import ray

            ray.shutdown()
    if not args.quiet:
        for r in results:
            print(f"--- {r.story}")
            for role, text in r.transcript:
                print(f"  {role}: {text}")
            for problem in r.problems:
                print(f"  ! {problem}")
    print(f"model: {describe(llm)}; {args.turns} replies a story; user lines scripted")
    head = ["story", "replies", *CRITERIA, "copy", "rep3", "2nd tries", "silent", "director", "s"]
    rows = [
        [r.story, r.replies, *(getattr(r, c) for c in CRITERIA), r.copy, r.rep3, r.retries, r.silent_turns,
         " ".join(f"{k}={v}" for k, v in sorted(r.director.items())), r.seconds]
        for r in results
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    for row in [head, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 1 if any(r.failed or r.replies < args.turns for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Cleaning a character's reply while it streams, so the room reads like people talking.

Small models echo their prompt, repeat what was just said and write the next speaker's label.
``ReplyFilter`` takes the model's text piece by piece and passes on only words that are safe to
show, holding back the few words whose fate is still open:

- a speaker label at the start (``Mira:``, ``Ares Base:``) is dropped; a cast member's label later
  means the model started someone else's line, and the reply ends there;
- words are held while they continue a run of the prompt or of earlier lines; a run that reaches
  ``echo_words`` (6) words is an echo: its held words and the rest of that sentence are dropped;
- a sentence that was said before in the room (or earlier in this reply) is dropped;
- after ``max_sentences`` sentences the reply is full; ``finish`` closes it with a full stop.

What it drops is never replaced: an empty result means "ask the model again" (the caller's job).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]*]*$")
_SOFT_TAIL = re.compile(r"[,;:\-–—]+$")
_LABEL = re.compile(r"^\W*[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){0,2}\s*:(?=\s|$)")
_OPEN_QUOTES = "\"“'*"


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: what echoes and repeats are compared on."""
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?…])[\"'”’)\]]*\s+", text.strip()) if words(s)]


def grams(texts: Iterable[str], longest: int) -> set[tuple[str, ...]]:
    """Every run of 1..``longest`` consecutive words of ``texts``."""
    out: set[tuple[str, ...]] = set()
    for text in texts:
        ws = words(text)
        for n in range(1, longest + 1):
            out.update(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))
    return out


@dataclass
class _Word:
    space: str
    text: str

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(words(self.text))


@dataclass
class ReplyFilter:
    instructions: list[str]  # the prompt's own text (scene, cast, rules, sample lines)
    said: list[str]  # what was said in the room so far
    roles: list[str] = field(default_factory=list)
    max_sentences: int = 3
    echo_words: int = 6
    text: str = ""  # what was passed on so far
    dropped: list[str] = field(default_factory=list)  # why text was dropped, for the logs
    full: bool = False  # no more text will be taken: the caller may stop the model

    def __post_init__(self) -> None:
        self._grams = grams([*self.instructions, *self.said], self.echo_words)
        self._said_sentences = {tuple(words(s)) for line in self.said for s in sentences(line)}
        self._pending = ""  # text after the last complete word
        self._start: list[_Word] | None = []  # the first words, until a label is ruled out
        self._sentence: list[_Word] = []  # the current sentence
        self._shown = 0  # how many of its words were passed on
        self._run: list[_Word] = []  # the longest tail of the reply that the references contain
        self._skip = False  # drop the rest of the current sentence (it echoed)
        self._kept = 0  # sentences kept
        self._tail = ""  # a comma or dash held back until the next word shows
        self._label_names = {r.lower() + ":" for r in self.roles}
        self._cut = False  # a sentence lost its end (an echo, another speaker's label)

    # --- input ------------------------------------------------------------------------------------
    def feed(self, piece: str) -> str:
        """Text of ``piece`` (and earlier held text) that may be shown now."""
        if self.full:
            return ""
        before = len(self.text)
        self._pending += piece
        while not self.full:
            match = re.match(r"(\s*)(\S+)(?=\s)", self._pending)
            if match is None:
                break
            self._pending = self._pending[match.end() :]
            self._word(_Word(match.group(1), match.group(2)))
        return self.text[before:]

    def finish(self, cut: bool = False) -> str:
        """The held text that may still be shown; ``cut``: the model stopped at its token limit.
        A reply without an ending gets one: '...' when its last sentence was cut off, else '.'."""
        before = len(self.text)
        if not self.full:
            last = self._pending.strip()
            self._pending = ""
            if last:
                self._word(_Word(" ", last))
            if self._start:
                self._begin(final=True)
            if self._sentence:
                self._end_sentence(complete=False)
        self.full = True
        for quote in ('"', "”"):  # the closing quote of an opening quote dropped at the start
            if self.text.endswith(quote) and self.text.count('"') + self.text.count("“") + self.text.count("”") == 1:
                self.text = self.text[:-1]
        if self.text and not _SENTENCE_END.search(self.text):
            self.text += "..." if cut or self._cut else "."
        self._tail = ""
        return self.text[before:]

    # --- words ------------------------------------------------------------------------------------
    def _word(self, word: _Word) -> None:
        if self._start is not None:
            self._start.append(word)
            if len(self._start) >= 4 or _SENTENCE_END.search(word.text):
                self._begin()
            return
        if word.text.lower() in self._label_names:  # the model moved on to another speaker
            self.dropped.append(f"label {word.text!r} mid-reply")
            self.full, self._cut = True, bool(self._sentence)
            self._end_sentence(complete=False)
            return
        if self._skip:
            self.dropped.append(word.text)
        else:
            self._sentence.append(word)
            self._track(word)
        if _SENTENCE_END.search(word.text):
            self._end_sentence(complete=True)

    def _begin(self, final: bool = False) -> None:
        """Drop a speaker label and opening quotes from the first words, then process them."""
        start, self._start = self._start or [], None
        joined = " ".join(w.text for w in start)
        label = _LABEL.match(joined)
        while label:
            self.dropped.append(f"label {label.group(0).strip()!r}")
            consumed = len(label.group(0).split())
            start = start[consumed:]
            joined = " ".join(w.text for w in start)
            label = _LABEL.match(joined)
        if start:
            start[0] = _Word("", start[0].text.lstrip(_OPEN_QUOTES))
        for w in start:
            if w.text:
                self._word(w)
            if self.full:
                break

    def _track(self, word: _Word) -> None:
        """Keep ``_run`` the longest tail found in the references; words falling out of it show."""
        run = [*self._run, word]
        while run and tuple(k for w in run for k in w.key) not in self._grams:
            run = run[1:]
        self._run = run
        if sum(len(w.key) for w in run) >= self.echo_words:
            echo = " ".join(w.text for w in run)
            self.dropped.append(f"echo {echo!r}")
            held = len(self._sentence) - self._shown
            del self._sentence[self._shown :]
            self._run = []
            self._skip = True
            if self._shown and held:
                # part of the sentence already shows: it cannot be finished well, so the reply ends
                self.full = self._cut = True
            return
        self._show_upto(len(self._sentence) - self._held_in_run())

    def _held_in_run(self) -> int:
        unshown = self._sentence[self._shown :]
        held = 0
        for w in reversed(unshown):
            if not any(w is r for r in self._run):
                break
            held += 1
        return held

    def _show_upto(self, index: int) -> None:
        for w in self._sentence[self._shown : index]:
            self._emit(w)
        self._shown = max(self._shown, index)

    def _emit(self, word: _Word) -> None:
        text = word.text
        space = (" " if word.space else "") if self.text else ""
        self.text += self._tail + space + text
        self._tail = ""
        tail = _SOFT_TAIL.search(self.text)
        if tail and not _SENTENCE_END.search(self.text):
            self._tail = tail.group(0)
            self.text = self.text[: tail.start()]

    def _end_sentence(self, complete: bool) -> None:
        sentence, self._sentence = self._sentence, []
        shown, self._shown = self._shown, 0
        skipped, self._skip = self._skip, False
        key = tuple(k for w in sentence for k in w.key)
        if skipped and not shown:
            return
        if not shown and (not key or key in self._said_sentences):
            if key:
                self.dropped.append(f"repeat {' '.join(w.text for w in sentence)!r}")
            return
        for w in sentence[shown:]:
            self._emit(w)
        if skipped:  # the sentence lost its end to an echo
            self.full = self._cut = True
            return
        self._said_sentences.add(key)
        self._kept += 1
        if complete and self._kept >= self.max_sentences:
            self.full = True


def clean(text: str, **kwargs: object) -> str:
    """``ReplyFilter`` over a whole text at once (for non-streaming use and tests)."""
    f = ReplyFilter(**kwargs)  # type: ignore[arg-type]
    f.feed(text)
    f.finish()
    return f.text

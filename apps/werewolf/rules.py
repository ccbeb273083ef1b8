"""The rules of the game as plain functions: roles, votes, who is alive, who won."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence

WEREWOLF, VILLAGER, SEER, WITCH = "werewolf", "villager", "seer", "witch"
_PLAYER = re.compile(r"Player\d+")


def player_names(count: int) -> list[str]:
    if count < 6:
        raise ValueError(f"werewolf needs at least 6 players, not {count}")
    return [f"Player{i}" for i in range(1, count + 1)]


def deal_roles(names: Sequence[str], seed: int = 0) -> dict[str, str]:
    """A third of the players (at least 2) are werewolves, one seer, one witch, the rest villagers."""
    wolves = max(2, len(names) // 3)
    roles = [WEREWOLF] * wolves + [SEER, WITCH] + [VILLAGER] * (len(names) - wolves - 2)
    random.Random(seed).shuffle(roles)
    return dict(zip(names, roles, strict=True))


def named_player(text: object, alive: Sequence[str], exclude: str | None = None) -> str | None:
    """The first alive player named in ``text`` (not ``exclude``), or None."""
    for name in _PLAYER.findall(str(text)):
        if name in alive and name != exclude:
            return name
    return None


def majority(votes: Sequence[str | None]) -> str | None:
    """The most voted name (a tie goes to the one voted first); None when nobody got a vote."""
    counted = Counter(v for v in votes if v)
    if not counted:
        return None
    top = max(counted.values())
    return next(v for v in votes if v and counted[v] == top)


def winner(roles: dict[str, str], alive: Sequence[str]) -> str | None:
    """'werewolves' once they are as many as the others, 'villagers' once none is left, else None."""
    wolves = sum(1 for p in alive if roles[p] == WEREWOLF)
    if wolves == 0:
        return "villagers"
    if wolves >= len(alive) - wolves:
        return "werewolves"
    return None

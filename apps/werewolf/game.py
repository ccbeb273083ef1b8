"""The moderator's loop: nights (werewolves agree on a victim in their hub, the witch may save or
poison, the seer checks a player) and days (the village talks in a hub and votes someone out),
until one side wins or ``max_days`` have passed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.werewolf import prompts
from apps.werewolf.rules import SEER, WEREWOLF, WITCH, majority, named_player, winner
from msagent import msghub
from msagent.agents import AgentBase, DictDialogAgent
from msagent.message import Msg
from msagent.pipelines.functional import sequentialpipeline


def speak_raw(text: str) -> dict[str, Any]:
    """A player whose answer is not JSON (a small real model) still speaks."""
    return {"speak": text}


def make_players(roles: dict[str, str], config_name: str, dist: bool = False) -> list[AgentBase]:
    """One ``DictDialogAgent`` per player; ``dist`` puts each in a Ray actor of its own."""
    wolves = [p for p, r in roles.items() if r == WEREWOLF]
    players = []
    for name, role in roles.items():
        player = DictDialogAgent(
            name, sys_prompt=prompts.system_prompt(name, role, wolves), model_config_name=config_name,
            fault_handler=speak_raw, max_retries=1,
        )  # fmt: skip
        players.append(player.to_dist() if dist else player)
    return players


@dataclass
class GameResult:
    winner: str | None
    days: int
    roles: dict[str, str]
    alive: list[str]
    events: list[str] = field(default_factory=list)


class Game:
    def __init__(
        self,
        players: Sequence[AgentBase],
        roles: dict[str, str],
        emit: Callable[[str], None] | None = None,
        max_days: int = 6,
        max_discussion: int = 2,
    ) -> None:
        self.players = {p.name: p for p in players}
        self.roles = dict(roles)
        self.alive = [p.name for p in players]
        self.emit = emit or (lambda line: None)
        self.max_days = max_days
        self.max_discussion = max_discussion
        self.potion = self.poison = True
        self.events: list[str] = []

    # --- helpers ----------------------------------------------------------------------------------
    def say(self, text: str) -> Msg:
        self._log(f"Moderator: {text}")
        return Msg("Moderator", text, role="user")

    def _log(self, line: str) -> None:
        self.events.append(line)
        self.emit(line)

    def living(self, role: str | None = None) -> list[AgentBase]:
        return [self.players[p] for p in self.alive if role is None or self.roles[p] == role]

    def choice(self, voter: AgentBase, x: Msg, key: str) -> str | None:
        picked = named_player(x.get(key) or x.content, self.alive, exclude=voter.name)
        self._log(f"{voter.name} -> {key}: {picked}")
        return picked

    def discuss(self, agents: list[AgentBase]) -> None:
        for _ in range(self.max_discussion):
            x = sequentialpipeline(agents)
            if x.get("agreement", False):
                break

    # --- phases -----------------------------------------------------------------------------------
    def night(self) -> list[str]:
        wolves = self.living(WEREWOLF)
        with msghub(wolves, announcement=self.say(prompts.wolves_discuss([w.name for w in wolves], self.alive))) as hub:
            if len(wolves) > 1:
                self.discuss(wolves)
            hint = self.say(prompts.wolves_vote(self.alive))
            victim = majority([self.choice(w, w(hint), "vote") for w in wolves])
            hub.broadcast(self.say(prompts.wolves_result(victim)))
        saved, poisoned = False, None
        for witch in self.living(WITCH):
            if victim and self.potion:
                x = witch(self.say(prompts.witch_heal(victim, self.alive)))
                if x.get("resurrect") is True or str(x.get("resurrect")).lower() == "true":
                    saved, self.potion = True, False
                    self._log(f"{witch.name} saves {victim}")
            if self.poison:
                poisoned = self.choice(witch, witch(self.say(prompts.witch_poison(self.alive))), "poison")
                self.poison = poisoned is None
        for seer in self.living(SEER):
            checked = self.choice(seer, seer(self.say(prompts.seer_check(self.alive))), "check")
            if checked:
                seer.observe(self.say(prompts.seer_result(checked, self.roles[checked] == WEREWOLF)))
        dead = [p for p in dict.fromkeys([None if saved else victim, poisoned]) if p]
        self.alive = [p for p in self.alive if p not in dead]
        return dead

    def day(self, number: int, dead: list[str]) -> str | None:
        village = self.living()
        with msghub(village, announcement=self.say(prompts.day_discuss(number, dead, self.alive))) as hub:
            self.discuss(village)
            hint = self.say(prompts.day_vote(self.alive))
            out = majority([self.choice(p, p(hint), "vote") for p in village])
            hub.broadcast(self.say(prompts.day_result(out)))
            self.alive = [p for p in self.alive if p != out]
            side = winner(self.roles, self.alive)
            hub.broadcast(self.say(prompts.game_over(side) if side else "The game goes on."))
        return side

    def play(self) -> GameResult:
        side, number = None, 0
        for number in range(1, self.max_days + 1):
            dead = self.night()
            side = winner(self.roles, self.alive)
            if side:
                self.say(prompts.game_over(side))
                break
            side = self.day(number, dead)
            if side:
                break
        return GameResult(winner=side, days=number, roles=self.roles, alive=list(self.alive), events=self.events)

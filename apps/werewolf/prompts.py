"""What the moderator says. Every question ends with the alive players, so a player (or the scripted
fake model) always knows whom it may name."""

from __future__ import annotations

from collections.abc import Sequence

from apps.werewolf.rules import SEER, VILLAGER, WEREWOLF, WITCH

ROLE_GOALS = {
    WEREWOLF: "At night you and the other werewolves eliminate one player. Hide your role by day.",
    VILLAGER: "You have no power at night. Find the werewolves by day and vote them out.",
    SEER: "Each night you may check one player and learn whether they are a werewolf.",
    WITCH: "You have one healing potion (save the night's victim) and one poison (eliminate a player).",
}


def names(players: Sequence[str]) -> str:
    return ", ".join(players)


def system_prompt(player: str, role: str, wolves: Sequence[str]) -> str:
    team = f" The werewolves are: {names(wolves)}." if role == WEREWOLF else ""
    return (
        f"You are {player}, playing the game Werewolf. Your role: {role}. {ROLE_GOALS[role]}{team} "
        "Villagers, the seer and the witch win when every werewolf is out; the werewolves win when they "
        "are as many as the others. Answer as a JSON object with a 'speak' field (what you say) and the "
        "fields the moderator asks for."
    )


def alive_line(alive: Sequence[str]) -> str:
    return f"Alive players: {names(alive)}."


def wolves_discuss(wolves: Sequence[str], alive: Sequence[str]) -> str:
    return (
        f"Night falls. {names(wolves)}, you are the werewolves: discuss whom to eliminate tonight and set "
        f"'agreement' to true once you agree. {alive_line(alive)}"
    )


def wolves_vote(alive: Sequence[str]) -> str:
    return f"Werewolves, vote: which player do you eliminate tonight? Put the name in 'vote'. {alive_line(alive)}"


def wolves_result(victim: str | None) -> str:
    return f"The werewolves chose {victim}." if victim else "The werewolves chose nobody."


def witch_heal(victim: str, alive: Sequence[str]) -> str:
    return (
        f"Witch, tonight {victim} was attacked. Do you use your healing potion to save {victim}? "
        f"Set 'resurrect' to true or false. {alive_line(alive)}"
    )


def witch_poison(alive: Sequence[str]) -> str:
    return f"Witch, do you use your poison? Put a player's name in 'poison', or 'no'. {alive_line(alive)}"


def seer_check(alive: Sequence[str]) -> str:
    return f"Seer, which player do you check tonight? Put the name in 'check'. {alive_line(alive)}"


def seer_result(player: str, is_wolf: bool) -> str:
    return f"Seer result: {player} is {'a werewolf' if is_wolf else 'not a werewolf'}."


def day_discuss(day: int, dead: Sequence[str], alive: Sequence[str]) -> str:
    night = f"Last night {names(dead)} died." if dead else "Last night nobody died."
    return (
        f"Day {day}. {night} Discuss who the werewolves are; set 'agreement' to true once the village "
        f"agrees. {alive_line(alive)}"
    )


def day_vote(alive: Sequence[str]) -> str:
    return f"Everyone, vote: which player do you vote out? Put the name in 'vote'. {alive_line(alive)}"


def day_result(out: str | None) -> str:
    return f"{out} was voted out." if out else "Nobody was voted out."


def game_over(side: str) -> str:
    return f"Game over: the {side} win."

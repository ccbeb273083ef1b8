"""``python -m apps.werewolf``: play one game and write its transcript (the hubs' log, JSON lines).

Without ``--model-configs`` the players run on the scripted fake model (a fake OpenAI-compatible
server started here). ``--dist`` puts every player in a Ray actor (joins ``RAY_ADDRESS``, as under
``ray job submit``, or starts a local Ray).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import msagent
from apps.werewolf.fake_model import werewolf_reply
from apps.werewolf.game import Game, make_players
from apps.werewolf.rules import deal_roles, player_names
from msagent.agentscope import session


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apps.werewolf", description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=6, help="how many players (at least 6)")
    parser.add_argument("--seed", type=int, default=0, help="deals the roles")
    parser.add_argument("--max-days", type=int, default=6)
    parser.add_argument("--dist", action="store_true", help="every player to_dist() on Ray")
    parser.add_argument("--model-configs", help="AgentScope model configs (JSON); default: the fake model")
    parser.add_argument("--config-name", help="which config the players use (default: the first)")
    parser.add_argument("--transcript", help="where the transcript goes (JSON lines)")
    return parser


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with ExitStack() as stack:
        if args.model_configs:
            configs = json.loads(Path(args.model_configs).read_text(encoding="utf-8"))
            configs = configs if isinstance(configs, list) else [configs]
            config_name = args.config_name or configs[0]["config_name"]
        else:
            from msagent.testing import FakeOpenAIServer

            server = stack.enter_context(FakeOpenAIServer(handler=werewolf_reply, model="werewolf-fake"))
            config_name = "werewolf-fake"
            configs = [{"config_name": config_name, "model_type": "openai", "model_name": "werewolf-fake",
                        "client_args": {"base_url": server.base_url}}]  # fmt: skip
        msagent.init(model_configs=configs, name="werewolf", logger_level="WARNING")
        stack.callback(session.shutdown)
        roles = deal_roles(player_names(args.players), seed=args.seed)
        game = Game(make_players(roles, config_name, dist=args.dist), roles, emit=_out, max_days=args.max_days)
        result = game.play()
        rows = session.transcript()
        if args.transcript:
            path = Path(args.transcript)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        for row in rows:
            _out(f"  [hub] {row['from']} -> {', '.join(row['send_to']) if isinstance(row['send_to'], list) else row['send_to']}: "
                 f"{row['content']}")  # fmt: skip
        _out(f"# roles: {json.dumps(result.roles)}")
        _out(f"# winner: {result.winner}, days: {result.days}, alive: {', '.join(result.alive)}, "
             f"hub messages: {len(rows)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

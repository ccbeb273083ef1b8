"""``python -m apps.conversation``: talk to an assistant agent; type ``exit`` to end.

The loop is the seed's, unchanged. Models come from AgentScope model configs (``--model-configs``,
``--config-name``); without them the assistant runs on the offline local model (SmolLM2, from the
``local`` extra). ``--dist`` moves the assistant into a Ray actor: the loop stays the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import msagent
from msagent.agents import DialogAgent, UserAgent
from msagent.agentscope import session

LOCAL_MODEL = {"config_name": "local", "model_type": "msagent", "llm": {"model_server": "local"}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.conversation", description=__doc__.splitlines()[0])
    parser.add_argument("--model-configs", help="AgentScope model configs (JSON); default: the local model")
    parser.add_argument("--config-name", help="which config the assistant uses (default: the first)")
    parser.add_argument("--sys-prompt", default="You are a helpful assistant.")
    parser.add_argument("--dist", action="store_true", help="the assistant in a Ray actor")
    args = parser.parse_args(argv)
    configs = json.loads(Path(args.model_configs).read_text(encoding="utf-8")) if args.model_configs else [LOCAL_MODEL]
    configs = configs if isinstance(configs, list) else [configs]
    msagent.init(model_configs=configs)  # the chat log shows every reply on this terminal
    try:
        dialog_agent = DialogAgent(name="assistant", sys_prompt=args.sys_prompt,
                                   model_or_config_name=args.config_name or configs[0]["config_name"])  # fmt: skip
        if args.dist:
            dialog_agent = dialog_agent.to_dist()
        user_agent = UserAgent()

        x = None
        while True:
            x = dialog_agent(x)
            x = user_agent(x)
            if x.content == "exit":  # the user types "exit" to end the conversation
                break
    except EOFError:
        pass  # the input ended without "exit"
    finally:
        session.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Werewolf in AgentScope's style on msagent: players are ``DictDialogAgent``s (each in a Ray actor
with ``--dist``), a moderator runs nights and days with ``msghub`` and ``sequentialpipeline``.

    python -m apps.werewolf                        # six players on the scripted fake model, locally
    python -m apps.werewolf --dist                 # every player to_dist() on Ray
    python -m apps.werewolf --model-configs apps/werewolf/model_configs.json --config-name local-vllm

See ``apps/werewolf/README.md``.
"""

"""The seed's user/assistant conversation (AgentScope's examples/conversation) on msagent."""

"""The Agent Registry: which agents exist, their state, which are human-driven."""

"""The Task Center: sends tasks, steps agents in rounds, streams their frames, scheduling policies."""

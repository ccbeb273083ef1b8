"""The assistant API: OpenAI-compatible chat completions, assistants/lite and files, on Ray Serve."""

"""The Environment: per-role mailboxes, send_to routing, watchers, history, durable message log."""

"""The Environment: per-role mailboxes, send_to routing, watchers, history, durable message log."""

from environment.env import Delivery, Environment
from environment.msghub import MsgHub, msghub
from environment.pipeline import sequential_pipeline
from environment.routing import AddressedTo, Subscription, WatchAll, normalize_send_to

__all__ = [
    "AddressedTo",
    "Delivery",
    "Environment",
    "MsgHub",
    "Subscription",
    "WatchAll",
    "msghub",
    "normalize_send_to",
    "sequential_pipeline",
]

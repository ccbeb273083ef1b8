"""The Task Center: sends tasks, steps agents in rounds, streams their frames, scheduling policies."""

from task_center.center import TaskCenter
from task_center.policies import (
    DirectorPolicy,
    NotifiedPolicy,
    RoundRobinPolicy,
    SpeakerPolicy,
    get_policy,
    parse_speakers,
    register_policy,
)

__all__ = [
    "DirectorPolicy",
    "NotifiedPolicy",
    "RoundRobinPolicy",
    "SpeakerPolicy",
    "TaskCenter",
    "get_policy",
    "parse_speakers",
    "register_policy",
]

"""Retry a model call with exponential backoff and jitter, only when that is safe.

Retried: 429, 5xx and unreachable servers. Never retried: other 4xx (the same request would fail
again), timeouts (the wait would multiply), and any failure after the first event was yielded (a
retry would repeat streamed text).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator

from msagent.errors import ModelError, ModelTimeoutError, ModelUnreachableError
from msagent.llm.events import LLMEvent

logger = logging.getLogger(__name__)

BASE_DELAY_S = 0.25
MAX_DELAY_S = 8.0


def is_retryable(error: ModelError) -> bool:
    if isinstance(error, ModelTimeoutError):
        return False
    if isinstance(error, ModelUnreachableError):
        return True
    status = error.details.get("status_code")
    return isinstance(status, int) and (status == 429 or 500 <= status < 600)


def backoff_s(attempt: int, base: float = BASE_DELAY_S) -> float:
    """Full jitter: uniform in [base/2, base * 2**attempt], capped."""
    ceiling = min(MAX_DELAY_S, base * (2**attempt))
    return random.uniform(min(base / 2, ceiling), ceiling)


def with_retries(
    call: Callable[[], Iterator[LLMEvent]], *, max_retries: int, base_delay_s: float = BASE_DELAY_S
) -> Iterator[LLMEvent]:
    """Run ``call()`` and pass its events on; retry it while nothing was yielded yet."""
    attempt = 0
    while True:
        started = False
        try:
            for event in call():
                started = True
                yield event
            return
        except ModelError as error:
            if started or attempt >= max_retries or not is_retryable(error):
                if attempt:
                    error.details.setdefault("attempts", attempt + 1)
                raise
            delay = backoff_s(attempt, base_delay_s)
            hinted = error.details.get("retry_after_s")
            if isinstance(hinted, (int, float)):
                delay = max(delay, min(float(hinted), MAX_DELAY_S))  # the server knows its own load
            attempt += 1
            logger.info(
                "model call failed (%s); retry %d/%d in %.2f s", error.message, attempt, max_retries, delay
            )
            time.sleep(delay)

"""``read_ahead``: an actor agent's model streams in its own thread; every item arrives, in order,
errors come through, and closing the stream early stops (and closes) the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from msagent.runtime.fanout import read_ahead


def test_every_item_in_order_from_another_thread():
    threads: list[str] = []

    def source() -> Iterator[str]:
        for i in range(200):
            threads.append(threading.current_thread().name)
            yield f"t{i} "

    assert list(read_ahead(source(), name="producer")) == [f"t{i} " for i in range(200)]
    assert set(threads) == {"producer"}


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def source() -> Iterator[str]:
        yield "a"
        yield "b"
        raise ValueError("model failed")

    got: list[str] = []
    with pytest.raises(ValueError, match="model failed"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == ["a", "b"]


def test_closing_early_stops_and_closes_the_producer():
    closed = threading.Event()
    release = threading.Event()

    def source() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
                release.wait()
        finally:
            closed.set()

    stream = read_ahead(source())
    assert next(stream) == 0
    stream.close()
    release.set()
    assert closed.wait(10)

"""Ray for the chat room, started in the background so that the page answers first.

``Cluster(address).start()`` returns at once; a thread starts (or joins) Ray, then keeps one spare
room host warm (``host.RoomHost``): a Ray worker takes a second or more of CPU to start and import
the agents, and a room should not wait for that. ``take_host()`` hands the spare out and starts the
next one a few seconds later. ``warm`` tells whether a room host has been ready once: until then the
app opens rooms in its own process instead of making the user wait for Ray (``app.ChatRoomApp``).
The app starts the cluster once the page answers and the first room has spoken: on two cores,
Ray's processes starting beside Gradio's imports and the first words delayed both by seconds.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from typing import Any

from msagent.errors import ModelUnreachableError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 120.0
SPARE_DELAY_S = 5.0  # after a host is taken, before the next spare starts


@functools.cache
def _host_class(cls: type) -> Any:
    import ray

    return ray.remote(cls)


class Cluster:
    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self.started_here = False  # we started Ray (so we shut it down)
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._spare: Any = None  # a RoomHost actor handle waiting for a room
        self._hosts: list[Any] = []  # every host handed out and not yet killed
        self._closed = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._warm = threading.Event()  # a room host answered ready() once

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def warm(self) -> bool:
        """Ray is up and a room host has been ready once: rooms go to Ray from now on."""
        return self._warm.is_set() and self.error is None

    def start(self) -> Cluster:
        """Start Ray in the background (once; never after ``shutdown``)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return self
            self._thread = threading.Thread(target=self._run, name="msagent-ray", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        """Start Ray, then stay alive until ``shutdown``: Ray starts its GCS and raylet with
        PR_SET_PDEATHSIG, which fires when the *thread* that started them ends, so this thread
        must outlive them (it also stops them)."""
        started = time.perf_counter()
        try:
            import ray

            if not ray.is_initialized():
                # a private local Ray unless an address is given: Ray's own default would silently
                # join whatever cluster `ray start` left running on this machine
                address = self.address or os.environ.get("RAY_ADDRESS") or "local"
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
                self.started_here = True
            log.info("Ray is up (%.1f s)", time.perf_counter() - started)
            self._ready.set()
            self._refill()
            self._await_first_host()
        except BaseException as e:  # shown when a room needs Ray
            log.exception("Ray did not start")
            self.error = e
            self._ready.set()
            return
        self._stop.wait()
        self._stop_ray()

    def wait(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until Ray is up; raises when it could not start."""
        if not self._ready.wait(timeout):
            raise ModelUnreachableError(f"Ray did not start within {timeout:.0f} s")
        if self.error is not None:
            raise ModelUnreachableError(f"Ray did not start: {self.error}") from self.error

    def _new_host(self) -> Any:

        from apps.chatroom.host import RoomHost

        # num_cpus=0: a room mostly waits on the model; the scheduler must not queue rooms behind CPUs
        handle = _host_class(RoomHost).options(num_cpus=0, max_concurrency=4).remote()
        handle.ready.remote()  # imports the agents while it waits
        return handle

    def _await_first_host(self) -> None:
        """Wait (in the cluster's thread) until the first spare host has imported the agents."""
        import ray

        with self._lock:
            spare = self._spare
        started = time.perf_counter()
        try:
            if spare is not None:
                ref = spare.ready.remote()
                while not self._stop.is_set() and time.perf_counter() - started < START_TIMEOUT_S:
                    done, _ = ray.wait([ref], timeout=0.5)
                    if done:
                        ray.get(done[0])
                        break
        except Exception as e:  # a room that needs a host starts one (and says so if it fails)
            log.warning("the first room host did not start: %s", e)
        log.info("room hosts on Ray (%.1f s): new rooms run on Ray", time.perf_counter() - started)
        self._warm.set()

    def _refill(self) -> None:
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare = self._new_host()

    def _refill_later(self) -> None:
        # not at once: starting a worker costs a second or more of CPU, which the room just taken
        # needs for its first words (a room opened meanwhile starts a host of its own)
        if not self._stop.wait(SPARE_DELAY_S):
            self._refill()

    @property
    def has_spare(self) -> bool:
        """Whether a warm room host is waiting for the next room."""
        return self._spare is not None

    def take_host(self) -> Any:
        """A room host for a new room (the warm spare when there is one); the next spare starts."""
        waited = time.perf_counter()
        self.wait()
        with self._lock:
            handle, self._spare = self._spare, None
            if handle is None:
                handle = self._new_host()
            self._hosts.append(handle)
        threading.Thread(target=self._refill_later, name="msagent-room-spare", daemon=True).start()
        log.info("room host taken (waited %.1f s for Ray)", time.perf_counter() - waited)
        return handle

    def release_host(self, handle: Any) -> None:
        import ray

        with self._lock:
            if handle in self._hosts:
                self._hosts.remove(handle)
        try:
            ray.kill(handle)
        except Exception as e:  # already gone
            log.debug("killing a room host: %s", e)

    def shutdown(self) -> None:
        """Kill every host this cluster created; stop Ray if we started it (once it finished
        starting: a Ray half-started in the background would otherwise outlive us)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_TIMEOUT_S + 30)

    def _stop_ray(self) -> None:
        import ray

        with self._lock:
            self._closed = True
            hosts, self._hosts = [*self._hosts, *([self._spare] if self._spare is not None else [])], []
            self._spare = None
        for handle in hosts:
            try:
                ray.kill(handle)
            except Exception as e:
                log.debug("killing a room host: %s", e)
        if self.started_here:
            ray.shutdown()

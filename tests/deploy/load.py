"""A bounded load generator: a fixed number of requests from a few threads, counted."""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Request = Callable[[httpx.Client, int], httpx.Response]


@dataclass
class Load:
    """`total` requests made by `threads` clients, each on its own keep-alive connection."""

    base_url: str
    request: Request
    total: int = 5_000
    threads: int = 8
    outcomes: Counter = field(default_factory=Counter)
    done: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, *, when_done: int = 0, then: Callable[[], None] | None = None) -> Counter:
        """Send the load; after `when_done` requests, call `then` (in its own thread)."""
        reached = threading.Event()
        workers = [
            threading.Thread(target=self._client, args=(reached, when_done))
            for _ in range(self.threads)
        ]
        for worker in workers:
            worker.start()
        if then:
            reached.wait(timeout=120)
            then()
        for worker in workers:
            worker.join()
        return self.outcomes

    def _client(self, reached: threading.Event, when_done: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while (index := self._next()) is not None:
                try:
                    outcome = self.request(client, index).status_code
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                with self._lock:
                    self.outcomes[outcome] += 1
                    if sum(self.outcomes.values()) >= when_done:
                        reached.set()

    def _next(self) -> int | None:
        with self._lock:
            if self.done >= self.total:
                return None
            self.done += 1
            return self.done

    @property
    def failures(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if outcome not in (200, 201))

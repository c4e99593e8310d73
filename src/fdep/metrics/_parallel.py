"""Per-image work on a small thread pool, results in input order with a bounded look-ahead.

The per-image statistics are numpy and OpenCV calls that release the GIL, so threads over
images use several cores without copying data to processes. Results are consumed in image
order (sums come out bit-identical to a serial loop) and at most ``2 * workers`` images are in
flight, so memory stays at a few images even when ``load`` reads them from disk.

While several threads run, OpenCV's own thread pool is reduced to one thread (and restored
afterwards): the images already keep the cores busy, and OpenCV splitting each labelling over
the same cores costs ~15% more CPU time on noisy maps (measured, docs/metrics.md).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import cv2

from ..errors import ConfigError

T = TypeVar("T")

MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Threads used when ``workers`` is None: the CPU count, capped at MAX_DEFAULT_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers: must be None (CPU count, at most {MAX_DEFAULT_WORKERS}) or an int >= 1, "
                          f"got {workers!r}")
    return workers


_cv_lock = threading.Lock()
_cv_users = 0
_cv_saved = 0


@contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV at one thread inside the block; nested or concurrent blocks restore the setting once."""
    global _cv_users, _cv_saved
    with _cv_lock:
        if _cv_users == 0:
            _cv_saved = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _cv_users += 1
    try:
        yield
    finally:
        with _cv_lock:
            _cv_users -= 1
            if _cv_users == 0:
                cv2.setNumThreads(_cv_saved)


def ordered_map(fn: Callable[[int], T], n: int, workers: int) -> Iterator[T]:
    """``fn(0), ..., fn(n - 1)`` in order, computed by ``workers`` threads (serially when 1)."""
    if workers <= 1 or n <= 1:
        for i in range(n):
            yield fn(i)
        return
    with single_threaded_opencv(), ThreadPoolExecutor(max_workers=min(workers, n)) as pool:
        ahead = 2 * workers
        pending: deque = deque()
        nxt = 0
        try:
            while nxt < n or pending:
                while nxt < n and len(pending) < ahead:
                    pending.append(pool.submit(fn, nxt))
                    nxt += 1
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

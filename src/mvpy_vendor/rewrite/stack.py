"""Run libcst on a thread with a large C stack, so that deep nesting fails one file, not the process."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["on_deep_stack", "stop_worker_thread"]

_T = TypeVar("_T")

_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 30_000
_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _forget_worker() -> None:
    """A forked child inherits the reference to the worker but not its thread: start afresh."""
    global _worker, _worker_lock
    _worker = None
    _worker_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def stop_worker_thread() -> None:
    """Stop the large-stack thread (it starts again when needed).

    Call before forking worker processes: forking a process that has other threads risks a
    child deadlocked on a lock one of them held (Python 3.12+ warns of it).
    """
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.shutdown(wait=True)


def _setup_worker() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION_LIMIT))


def on_deep_stack(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` on a thread with a large C stack.

    libcst's native parser and its code generator recurse once per nesting level; long
    expression chains in real files (sympy has some) overflow the main thread's stack, which
    would crash the whole process rather than fail one file.
    """
    global _worker
    with _worker_lock:
        if _worker is None:
            old = threading.stack_size()
            threading.stack_size(_STACK_BYTES)
            try:
                _worker = ThreadPoolExecutor(1, thread_name_prefix="mvpy-libcst", initializer=_setup_worker)
                _worker.submit(lambda: None).result()  # start the thread while the size is set
            finally:
                threading.stack_size(old)
        worker = _worker
    return worker.submit(fn).result()

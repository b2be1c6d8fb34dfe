"""A guarded workaround for the Python SDK's provider serializer (pulumi/pulumi#17803):
``serialize_provider`` wraps ``pickle._Pickler._batch_setitems`` once per dynamic
resource and never unwraps it, so a program dies with ``RecursionError`` near its 980th
dynamic resource. :func:`unchained`, held around each registration of ours, takes the
SDK's wrappers off before the serializer runs and the one it adds afterwards; the
output is the same, and the chain other providers walk is never longer. It touches only
wrappers that look exactly like the SDK's, so a fixed SDK makes it a no-op; remove it
once the SDK floor fixes the bug (docs/performance.md has the repro)."""

from __future__ import annotations

import contextlib
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any

_WRAPPER_NAMES = frozenset(
    {"batch_set_items_sorted_before_py14", "batch_set_items_sorted"}  # < 3.14, >= 3.14
)
_lock = threading.Lock()


def _wrapped(function: Any) -> Callable[..., Any] | None:
    """The method an SDK sorting wrapper calls, or ``None`` if ``function`` is not one."""
    code = getattr(function, "__code__", None)
    closure = getattr(function, "__closure__", None)
    if (
        code is None
        or code.co_name not in _WRAPPER_NAMES
        or not getattr(function, "__qualname__", "").startswith("serialize_provider.<locals>.")
        or code.co_freevars != ("unsorted_batch_setitems",)
        or not closure
    ):
        return None
    inner = closure[0].cell_contents
    return inner if callable(inner) else None


def _unwrapped(function: Any) -> Any:
    # A loop, not recursion: the chain may already be longer than the recursion limit.
    while (inner := _wrapped(function)) is not None:
        function = inner
    return function


def chain_length() -> int:
    """How many SDK sorting wrappers ``pickle._Pickler._batch_setitems`` holds now."""
    function: Any = vars(getattr(pickle, "_Pickler", object)).get("_batch_setitems")
    length = 0
    while (inner := _wrapped(function)) is not None:
        function, length = inner, length + 1
    return length


@contextlib.contextmanager
def unchained() -> Iterator[None]:
    """Around a dynamic resource's registration: the SDK's serializer finds no wrapper
    chain, and leaves none behind (see the module docstring). Touches nothing but the
    SDK's own wrappers."""
    pickler: Any = getattr(pickle, "_Pickler", None)
    current = None if pickler is None else vars(pickler).get("_batch_setitems")
    if current is None:
        yield
        return
    with _lock:
        base = _unwrapped(current)
        if base is not current:
            pickler._batch_setitems = base
        try:
            yield
        finally:
            # Only the SDK's own wrappers are taken off; if something else was put there
            # meanwhile, it stays.
            now = vars(pickler).get("_batch_setitems")
            if now is not None and _unwrapped(now) is base:
                pickler._batch_setitems = base

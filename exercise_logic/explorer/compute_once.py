"""Values computed once per key, even when several students ask for the same one at once."""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from typing import Any


class ComputeOnce:
    """A per-key cache whose value is computed by the first caller; the others wait for it.

    Parameters
    ----------
    keep : int, optional
        Keep only the ``keep`` most recently used values (default: all).

    A failed computation stores nothing: the next caller tries again.
    """

    def __init__(self, keep: int | None = None):
        self.keep = keep
        self._values: collections.OrderedDict = collections.OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key: Hashable) -> Any | None:
        """The value if it is computed already, else None (never computes)."""
        with self._guard:
            return self._values.get(key)

    def __contains__(self, key: Hashable) -> bool:
        with self._guard:
            return key in self._values

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value of ``key``, calling ``compute()`` only if no one has yet."""
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = compute()
            with self._guard:
                self._values[key] = value
                self._locks.pop(key, None)
                while self.keep is not None and len(self._values) > self.keep:
                    self._values.popitem(last=False)
            return value

"""Handing freed heap memory back to the operating system after a catalog is built."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)  # glibc only
    except OSError:
        return None


def release_free_memory() -> None:
    """Ask glibc to return its free heap pages to the OS (a no-op elsewhere).

    Loading a catalog version and building its index allocate far more than they keep
    (database rows, normalized strings, postings lists while they grow); the index is built
    in a worker thread, which has a malloc arena of its own. glibc keeps what was freed in
    those arenas, so without this the process stays at its peak size for good.
    `malloc_trim(0)` gives back every whole free page and changes nothing else.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

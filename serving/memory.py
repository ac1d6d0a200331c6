"""Giving memory back to the system after a model is dropped.

A replaced model's tensors are freed when its last reference goes, but glibc's allocator keeps
the freed pages in its arenas, so a server that hot-reloads versions grows by a large part of
a model per reload (measured: about 50 MB a reload of a BERT-base export). ``malloc_trim``
returns the free pages to the system; elsewhere than glibc this is a garbage collection only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

logger = logging.getLogger(__name__)


def _malloc_trim():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Collects unreachable objects (a dropped model's graph holds cycles), then hands the
    allocator's free pages back to the system."""
    gc.collect()
    if _TRIM is not None:
        try:
            _TRIM(0)
        except OSError:  # pragma: no cover - a libc that refuses
            logger.debug("malloc_trim failed", exc_info=True)

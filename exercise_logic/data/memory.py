"""How much memory a process may still use, and refusing allocations that would not fit.

Turning uint8 images into the model's float32 RGB input multiplies their size
by 12. The loaders check the estimate *before* allocating and stop with a
message that names the estimate, the memory available and what to use
instead, rather than letting the operating system kill the process (on
Google Colab: a restarted runtime and lost work).

The memory available is the kernel's ``MemAvailable`` (or the container's
cgroup limit, when lower); ``$EXERCISE_LOGIC_MEMORY_LIMIT`` (bytes, or a
number with a ``K``/``M``/``G`` suffix) caps it further, e.g. to keep room for
other programs on a shared machine.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

MEMORY_LIMIT_VARIABLE = "EXERCISE_LOGIC_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class InsufficientMemoryError(MemoryError):
    """An allocation was refused before it was made because it would not fit."""


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # other Unix systems: free physical pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_headroom() -> int | None:
    """Room left under a cgroup v2 memory limit (containers), or None without one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        return None


def parse_bytes(text: str) -> int:
    """``'1500000'``, ``'512M'`` or ``'2G'`` (binary units) as a number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"{MEMORY_LIMIT_VARIABLE} must be a number of bytes such as 2000000000, "
                         f"512M or 2G; got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def available_memory() -> int | None:
    """Bytes this process may still allocate: the least of ``MemAvailable``, the
    cgroup headroom and ``$EXERCISE_LOGIC_MEMORY_LIMIT``; None if unknown."""
    candidates = [_meminfo_available(), _cgroup_headroom()]
    if os.environ.get(MEMORY_LIMIT_VARIABLE):
        candidates.append(parse_bytes(os.environ[MEMORY_LIMIT_VARIABLE]))
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def describe_bytes(count: int) -> str:
    """``'94.1 MB'`` or ``'2.35 GB'``."""
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.1f} MB"


def check_fits(needed: int, what: dict, instead: dict) -> None:
    """Raise :class:`InsufficientMemoryError` if ``needed`` bytes exceed the memory available.

    Parameters
    ----------
    needed : int
        Bytes the allocation would take.
    what, instead : dict of str to str
        What would be allocated and what to use instead, in Japanese (``'ja'``)
        and English (``'en'``), for the message (Japanese first).
    """
    available = available_memory()
    if available is None or needed <= available:
        return
    raise InsufficientMemoryError(
        f"メモリが足りません: {what['ja']}に約 {describe_bytes(needed)} 必要ですが、使えるメモリは "
        f"{describe_bytes(available)} です。代わりに {instead['ja']} / "
        f"Not enough memory: {what['en']} would need about {describe_bytes(needed)}, but only "
        f"{describe_bytes(available)} is available. Instead, {instead['en']}")

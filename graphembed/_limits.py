"""Bounds on what a parameter may ask for: memory checked before a large allocation.

A parameter that would need more memory than the machine has is an input error (exit 2 with the
figures), not a MemoryError half-way through, and never a swap storm.
"""
import os

from graphembed.io.errors import InputError

# LINE samples beyond this would run for days at the measured 10^7 samples/s; int64 is the hard cap.
MAX_SAMPLES = 10**14


def available_memory():
    """Bytes of memory available now (MemAvailable on Linux), or None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human_bytes(n_bytes):
    """1536 -> '1.5 KiB'."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def check_memory(n_bytes, what):
    """Raise InputError when ``what`` (e.g. 'FastRP with dim=4096 on 1000000 nodes') needs more
    than the memory available now; ``n_bytes`` is the estimate of its largest arrays."""
    available = available_memory()
    if available is not None and n_bytes > available:
        raise InputError(f"{what} needs about {human_bytes(n_bytes)} of memory, "
                         f"{human_bytes(available)} is available; use smaller parameters")

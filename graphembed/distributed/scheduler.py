"""Resolve ``scheduler`` values into a ``dask.distributed.Client``.

* ``"local"`` or ``"local:N"``: a LocalCluster of N single-thread worker processes (N defaults
  to the core count), started here and closed when the block ends;
* ``"tcp://host:port"`` (or ``tls://``, ``ucx://``, ``inproc://``): connect to a running scheduler;
  the client is closed afterwards, the cluster is left alone;
* a ``dask.distributed.Client``: used as it is, never closed here.

Starting and connecting time out (``GRAPHEMBED_DASK_TIMEOUT`` seconds, default 60): a cluster
that does not come up is an error, never a hang.
"""
from __future__ import annotations

import contextlib
import os
import re

from graphembed.io.errors import InputError

_LOCAL = re.compile(r"local(?::(\d+))?")
_ADDRESS = re.compile(r"(tcp|tls|ucx|inproc)://\S+")


def timeout_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("GRAPHEMBED_DASK_TIMEOUT", "60")))
    except ValueError:
        return 60.0


def check_scheduler(scheduler) -> None:
    """Raise InputError when ``scheduler`` is no value :func:`client_for` takes (without dask)."""
    if scheduler is None or not isinstance(scheduler, str):
        return
    text = scheduler.strip()
    m = _LOCAL.fullmatch(text)
    if m:
        if m.group(1) is not None and not 1 <= int(m.group(1)) <= 4096:
            raise InputError(f"--scheduler {scheduler}: the worker count must be between 1 and 4096")
        return
    if _ADDRESS.fullmatch(text):
        return
    raise InputError(f"--scheduler {scheduler!r}: expected local, local:N (N worker processes) "
                     f"or a scheduler address such as tcp://host:8786")


@contextlib.contextmanager
def client_for(scheduler):
    """Yield a Client for ``scheduler`` (see the module docstring); closes what it started."""
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if not isinstance(scheduler, str):
        raise InputError(f"scheduler must be 'local:N', a scheduler address or a dask.distributed.Client, "
                         f"got {type(scheduler).__name__}")
    check_scheduler(scheduler)
    text = scheduler.strip()
    timeout = timeout_seconds()
    m = _LOCAL.fullmatch(text)
    if m:
        n = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        cluster = _start_local(distributed, n, timeout, scheduler)
        try:
            with distributed.Client(cluster, timeout=timeout) as client:
                client.wait_for_workers(n, timeout=timeout)
                yield client
        finally:
            cluster.close(timeout=timeout)
        return
    try:
        client = distributed.Client(text, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler {scheduler}: cannot connect within {timeout:g} s "
                         f"({' '.join(str(exc).split())[:200]})") from None
    with client:
        yield client


def _start_local(distributed, n, timeout, scheduler):
    """A LocalCluster of n single-thread worker processes, or InputError after ``timeout`` s."""
    import threading

    box = {}

    def start():
        try:
            box["cluster"] = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                      dashboard_address=":0", death_timeout=timeout,
                                                      silence_logs=50)
        except BaseException as exc:  # noqa: BLE001 - reported below, in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=start, name="graphembed-local-cluster", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        import logging

        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # the reaping at exit stays quiet
        raise InputError(f"--scheduler {scheduler}: the local cluster did not start within {timeout:g} s "
                         f"(set GRAPHEMBED_DASK_TIMEOUT to wait longer)")
    if "error" in box:
        exc = box["error"]
        raise InputError(f"--scheduler {scheduler}: the local cluster did not start "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    return box["cluster"]


def default_client():
    """The current Client (``dask.distributed.get_client``), or None."""
    distributed = _distributed()
    try:
        return distributed.get_client()
    except ValueError:
        return None


def _distributed():
    from graphembed.distributed import require_dask

    return require_dask()

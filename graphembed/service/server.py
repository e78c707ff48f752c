"""Running the service under uvicorn so that silent, slow or numerous clients cannot stall it.

uvicorn (h11) times out idle keep-alive connections (``timeout_keep_alive``) but has no timeout
for a client that connects and then sends nothing, or half a request line: such a connection
holds its file descriptor forever, and some 21,000 of them exhaust the process's descriptors.
:func:`protocol_class` adds that timeout (``timeout_header``: the request line and headers must
arrive within it, counted from the connection or from the first byte after a keep-alive pause,
never restarted by a trickle of bytes) and a hard cap on open connections (closed at once beyond
``2 x limit_concurrency`` or the open-file limit less a reserve, whichever is lower; uvicorn itself
answers 503 above ``limit_concurrency``).
:class:`RateLimitFilter` keeps a flood of identical log lines (accept errors, bad requests)
from filling the disk.
"""
import logging
import threading
import time

SERVER_DEFAULTS = {"timeout_keep_alive": 5, "timeout_header": 10.0, "limit_concurrency": 256,
                   "max_header_bytes": 16384, "timeout_graceful_shutdown": 5, "backlog": 128}
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "graphembed.service")


class RateLimitFilter(logging.Filter):
    """Let at most ``burst`` records with the same logger, level and message template through
    per ``interval`` seconds, only the first of them with its traceback; the first record after
    a quiet spell says how many were dropped."""

    def __init__(self, burst=5, interval=10.0, clock=time.monotonic, max_keys=1000):
        super().__init__()
        self.burst, self.interval, self.clock, self.max_keys = burst, interval, clock, max_keys
        self._seen = {}  # key -> [window start, passed in window, dropped]
        self._lock = threading.Lock()

    def filter(self, record):
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.interval:
                dropped = entry[2] if entry is not None else 0
                if len(self._seen) >= self.max_keys:
                    self._seen.clear()
                self._seen[key] = [now, 1, 0]
                if entry is not None:  # a repeat: its traceback was shown before
                    record.exc_info, record.exc_text, record.stack_info = None, None, None
                if dropped:
                    record.msg = f"{record.getMessage()} ({dropped} identical messages suppressed)"
                    record.args = ()
                return True
            if entry[1] < self.burst:
                entry[1] += 1
                record.exc_info, record.exc_text, record.stack_info = None, None, None
                return True
            entry[2] += 1
            return False


def install_log_filters(burst=5, interval=10.0):
    """Attach one :class:`RateLimitFilter` to each of the loggers the server writes to."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter(burst, interval))


def protocol_class(timeout_header, max_connections):
    """uvicorn's h11 protocol with a header-read timeout and a cap on open connections."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    log = logging.getLogger("graphembed.service")

    class GuardedH11Protocol(H11Protocol):
        _header_timer = None

        def connection_made(self, transport):
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning("more than %d open connections: refusing new ones", max_connections)
                transport.abort()
                return
            self._sync_header_timer()

        def data_received(self, data):
            super().data_received(data)
            self._sync_header_timer()

        def connection_lost(self, exc):
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _sync_header_timer(self):
            """Armed while the connection waits for a request's headers; cancelled once they are in."""
            waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if waiting and self._header_timer is None:
                self._header_timer = self.loop.call_later(timeout_header, self._header_timeout)
            elif not waiting:
                self._cancel_header_timer()

        def _cancel_header_timer(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self):
            self._header_timer = None
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self.transport.close()

        def timeout_keep_alive_handler(self):
            self._cancel_header_timer()
            super().timeout_keep_alive_handler()

    return GuardedH11Protocol


def max_connections(limit_concurrency, reserve=64):
    """Open connections to allow: twice ``limit_concurrency``, but below the process's limit on
    open files less ``reserve`` (the index, logs, and the connections asyncio accepts in one go,
    up to the listen backlog, before any is refused), so accept does not run out of files."""
    cap = 2 * limit_concurrency
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            cap = min(cap, soft - reserve)
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        pass
    return max(cap, 1)


def run(app, host, port, *, access_log=False, log_burst=5, log_interval=10.0, **options):
    """Serve ``app`` on ``host:port`` until interrupted. ``options``: the keys of
    :data:`SERVER_DEFAULTS` (seconds and counts)."""
    import uvicorn

    unknown = set(options) - set(SERVER_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown server options {sorted(unknown)}")
    opt = {**SERVER_DEFAULTS, **options}
    cap = max_connections(opt["limit_concurrency"], reserve=64 + opt["backlog"])
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=access_log,
        http=protocol_class(opt["timeout_header"], cap), backlog=opt["backlog"],
        timeout_keep_alive=opt["timeout_keep_alive"], limit_concurrency=opt["limit_concurrency"],
        h11_max_incomplete_event_size=opt["max_header_bytes"],
        timeout_graceful_shutdown=opt["timeout_graceful_shutdown"], server_header=False)
    install_log_filters(log_burst, log_interval)  # after Config, which configures logging
    uvicorn.Server(config).run()

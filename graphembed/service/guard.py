"""The ASGI layer in front of the app: Host check, body size and time caps, and a last-resort
error answer, so that no request reaches a route it should not and none ends in a traceback.

DNS rebinding: a web page on ``evil.example`` can make the browser resolve its own name to
127.0.0.1 and read the answers of a local server that trusts every caller. Such requests still
carry ``Host: evil.example``, so a server without a token answers only the loopback names.
"""
import asyncio
import json
import logging
import os
import re

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_TOO_LARGE = object()
log = logging.getLogger("graphembed.service")


def host_name(header):
    """The host part of a ``Host`` header value, lower case: ``[::1]:8000`` -> ``::1``;
    None when it is not a valid host[:port]."""
    header = header.strip().lower()
    m = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d{1,5}))?", header) or \
        re.fullmatch(r"([a-z0-9._-]+)(?::(\d{1,5}))?", header)
    return m.group(1) if m else None


async def send_json(send, status, payload, headers=()):
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Wraps the app: refuses a ``Host`` outside ``allowed_hosts`` (None: any) with 421, bodies
    over ``max_bytes`` with 413 and bodies not received within ``body_timeout`` seconds with 408;
    an exception that escapes the app is logged in one line and answered with a bare 500."""

    def __init__(self, app, *, max_bytes=None, allowed_hosts=None, body_timeout=None):
        self.app = app
        self.max_bytes = max_bytes
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            problem = self._host_problem(scope)
            if problem:
                return await send_json(tracked_send, 421, {"error": problem})
            if self.max_bytes is not None or self.body_timeout is not None:
                receive = await self._read_body(scope, receive, tracked_send)
                if receive is None:
                    return
            await self.app(scope, receive, tracked_send)
        except Exception as exc:  # noqa: BLE001 - a bug: one log line, a safe answer
            log.error("internal error answering %s %s: %s", scope.get("method"), scope.get("path"),
                      type(exc).__name__)
            if os.environ.get("GRAPHEMBED_DEBUG") == "1":
                log.exception("traceback")
            if not started:
                await send_json(send, 500, {"error": "internal error (logged on the server)"})

    def _host_problem(self, scope):
        if self.allowed is None:
            return None
        raw = [v for k, v in scope["headers"] if k == b"host"]
        shown = raw[0].decode("latin-1")[:100] if raw else ""
        name = host_name(raw[0].decode("latin-1")) if len(raw) == 1 else None
        if name in self.allowed:
            return None
        return (f"Host {shown!r} is not served here (accepted: {', '.join(sorted(self.allowed))}); "
                "start the server with --token-file or --allowed-host to accept other names")

    async def _read_body(self, scope, receive, send):
        """The whole body read within the caps; a replaying ``receive``, or None once refused."""
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if self.max_bytes is not None and length is not None and (
                not length.isdigit() or int(length) > self.max_bytes):
            await send_json(send, 413, {"error": f"request body over {self.max_bytes} bytes"})
            return None
        try:
            if self.body_timeout is None:
                chunks = await self._collect(receive)
            elif hasattr(asyncio, "timeout"):  # Python 3.11+: a timer, no extra task per request
                async with asyncio.timeout(self.body_timeout):
                    chunks = await self._collect(receive)
            else:
                chunks = await asyncio.wait_for(self._collect(receive), self.body_timeout)
        except asyncio.TimeoutError:
            await send_json(send, 408, {"error": f"request body not received within {self.body_timeout:g} s"},
                            headers=[(b"connection", b"close")])
            return None
        if chunks is None:
            return None  # the client went away
        if chunks is _TOO_LARGE:
            await send_json(send, 413, {"error": f"request body over {self.max_bytes} bytes"})
            return None
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _collect(self, receive):
        """The body's chunks; None when the client went away, _TOO_LARGE past ``max_bytes``."""
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if self.max_bytes is not None and total > self.max_bytes:
                return _TOO_LARGE
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks

"""The neighbour service: a FastAPI app over one index directory (imported only by ``graphembed serve``).

Endpoints: ``GET /healthz``, ``GET /info``, ``GET /nodes/{id}/vector``, ``POST /neighbors``,
``POST /search``, ``POST /similarity``, ``POST /reload`` (token required); OpenAPI docs at ``/docs``.
Every error is a JSON object ``{"error": "..."}`` (one line, no server paths) with a 4xx status:
malformed JSON 400, missing or wrong token 401, reload without a configured token 403, unknown
node ids 404, a body not received in time 408, a failed reload 409, a body over the size cap 413,
a ``Host`` not served 421, invalid fields, wrong dimensions and values outside the limits 422;
and 503 (busy, or the index failed while searching) or 504 (over the time limit) from the server.

Cost: every search request gets an estimate of the vector comparisons it needs (:func:`_work`:
query rows times the vectors one query touches, which grows with ``k``, ``ef_search`` and
``nprobe``). Requests over ``max_work`` are refused (422). Small ones run on the event loop
itself: handing a sub-millisecond faiss call to a worker thread costs more than the call, and the
hand-offs are what made the latency tail long. Larger ones run in a pool of ``heavy_concurrency``
worker threads, so a big batch never holds up the loop (``/healthz`` keeps answering); a request
waits for a free worker and runs within ``request_timeout`` seconds in all, else 503 (no worker
came free) or 504. faiss cannot be interrupted: a search past its time limit finishes in its
thread (bounded by the limits) and keeps its worker until then.

The index is read-only while serving and verified against its stored checksums on every load.
``/reload`` loads the index directory again (rebuilt and renamed into place by ``graphembed index
build``) and swaps it in with one reference assignment: requests already running finish on the
index they started with, none is dropped; a reload that fails keeps the old index (409).
"""
import asyncio
import hmac
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphembed.index import EmbeddingIndex
from graphembed.index.core import EXACT_FILTER_MAX
from graphembed.index.policy import DEFAULT_EF_SEARCH
from graphembed.io.errors import InputError
from graphembed.service.guard import LOOPBACK_HOSTS, Guard

NodeId = Union[StrictInt, StrictStr]
Number = Union[StrictFloat, StrictInt]

INLINE_MAX_WORK = 2_000_000      # vector comparisons a request may cost and still run on the event loop
DEFAULT_LIMITS = {"max_k": 1000, "max_batch": 1024, "max_pairs": 10_000, "max_filter": 100_000,
                  "max_body_bytes": 4 << 20, "max_ef_search": 4096, "max_nprobe": 4096,
                  "max_work": 500_000_000, "request_timeout": 30.0, "body_timeout": 30.0,
                  "heavy_concurrency": 2}
MAX_SHOWN = 60                   # characters of a client's value quoted in an error


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------- request bodies
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _models(lim):
    """The request bodies, with this app's limits as their documented and enforced bounds."""
    k_field = dict(ge=1, le=lim["max_k"], description="Neighbours per query.")
    ef_field = dict(ge=1, le=lim["max_ef_search"], description="HNSW search effort.")
    nprobe_field = dict(ge=1, le=lim["max_nprobe"], description="IVF lists probed.")
    filter_field = dict(min_length=1, max_length=lim["max_filter"],
                        description="Search only among these node ids.")

    class NeighborsRequest(_Strict):
        ids: List[NodeId] = Field(..., min_length=1, max_length=lim["max_batch"],
                                  description="Node ids; each is excluded from its own results.")
        k: StrictInt = Field(10, **k_field)
        filter: Optional[List[NodeId]] = Field(None, **filter_field)
        ef_search: Optional[StrictInt] = Field(None, **ef_field)
        nprobe: Optional[StrictInt] = Field(None, **nprobe_field)

    class SearchRequest(_Strict):
        vectors: List[List[Number]] = Field(..., min_length=1, max_length=lim["max_batch"],
                                            description="Query vectors of the index dimension.")
        k: StrictInt = Field(10, **k_field)
        filter: Optional[List[NodeId]] = Field(None, **filter_field)
        ef_search: Optional[StrictInt] = Field(None, **ef_field)
        nprobe: Optional[StrictInt] = Field(None, **nprobe_field)

    class SimilarityRequest(_Strict):
        pairs: List[Tuple[NodeId, NodeId]] = Field(..., min_length=1, max_length=lim["max_pairs"])

    return NeighborsRequest, SearchRequest, SimilarityRequest


def _validation_message(error, lim):
    """One line for the first pydantic error: the field, and the accepted range where it has one."""
    loc = [str(x) for x in error.get("loc", ()) if x != "body"]
    name = ".".join(loc) or "body"
    kind, ctx, value = error.get("type"), error.get("ctx") or {}, error.get("input")
    ranges = {"k": (1, lim["max_k"]), "ef_search": (1, lim["max_ef_search"]),
              "nprobe": (1, lim["max_nprobe"])}
    if kind in ("greater_than_equal", "less_than_equal") and loc and loc[-1] in ranges:
        lo, hi = ranges[loc[-1]]
        shown = _short(value, repr_=False)
        where = f"over the limit of {hi}" if kind == "less_than_equal" else f"below {lo}"
        return f"{name}={shown} is {where} (accepted range {lo}..{hi})"
    if kind == "too_long" and len(loc) == 1:
        return (f"{ctx.get('actual_length')} {name} in one request is over the limit of "
                f"{ctx.get('max_length')}")
    if kind == "too_short" and loc == ["filter"]:
        return "filter must list at least one node id"
    return f"invalid request: {name}: {error.get('msg')}"


# ---------------------------------------------------------------------------- helpers
def _score(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _results(queries, result):
    return [{"id": q, "neighbors": [{"id": v, "score": _score(s)}
                                    for v, s in zip(ids.tolist(), scores.tolist())]}
            for q, (ids, scores) in zip(queries, result)]


def _short(value, repr_=True):
    text = repr(value) if repr_ else str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


_ABSOLUTE = re.compile(r"(?<![\w.:~])(?:/[^\s/'\"(),;:]+)+/([^\s/'\"(),;:]*)")


def redact(text, paths=()):
    """``text`` on one line without server paths: each of ``paths`` (the index directory as
    given and resolved) becomes its base name, any other absolute path its last component."""
    text = " ".join(str(text).split())
    for p in sorted({str(p) for p in paths if p}, key=len, reverse=True):
        text = text.replace(p, Path(p).name or p)
    return _ABSOLUTE.sub(r"\1", text)[:500]


def _redact_tree(value, paths):
    """``value`` (JSON-like) with :func:`redact` applied to every string in it."""
    if isinstance(value, dict):
        return {k: _redact_tree(v, paths) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_tree(v, paths) for v in value]
    return redact(value, paths) if isinstance(value, str) and "/" in value else value


def check_token(token):
    """The token to require, or None; an empty or whitespace-only token raises InputError."""
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip():
        raise InputError("the token is empty or only whitespace: give a real token "
                         "(--token-file or GRAPHEMBED_TOKEN), or none")
    return token.strip()


def _parse_factory(factory, key):
    m = re.search(key + r"(\d+)", factory.upper())
    return int(m.group(1)) if m else None


def _work(index, n_queries, filter=None, *, k=10, ef_search=None, nprobe=None):
    """A rough cost of a query batch, in vector comparisons: query rows times the vectors one
    query touches. Flat: every vector; HNSW: ``max(ef_search, k)`` candidates times the 2M links
    of each; IVF: the centroids plus ``nprobe`` lists of ``count / nlist`` vectors. A filter of
    up to 20,000 ids is an exact scan of those; a larger one makes the approximate search
    wander through ``count / len(filter)`` times more of the index (up to all of it)."""
    n = max(len(index), 1)
    factory = index.factory.upper()
    defaults = index.meta.get("search_defaults") or {}
    if filter is not None and len(filter) <= EXACT_FILTER_MAX:
        return n_queries * (len(filter) + k)
    if factory.startswith("FLAT"):
        per_query = n
    elif "HNSW" in factory:
        m = _parse_factory(factory, "HNSW") or 32
        ef = max(int(ef_search or defaults.get("efSearch") or DEFAULT_EF_SEARCH), k)
        per_query = min(ef * 2 * m, n * 2 * m)
    elif "IVF" in factory:
        nlist = _parse_factory(factory, "IVF") or 1
        probes = min(int(nprobe or defaults.get("nprobe") or 8), nlist)
        per_query = nlist + probes * math.ceil(n / nlist)
    else:
        per_query = n
    if "RFLAT" in factory or "REFINE" in factory:
        per_query += 4 * k
    if filter is not None:
        per_query = min(per_query * math.ceil(n / max(len(filter), 1)), n * 2 * 64)
    return n_queries * (per_query + k)


class _State:
    def __init__(self, path, mmap):
        self.path = path
        self.mmap = mmap
        self.index = EmbeddingIndex.load(path, mmap=mmap, verify=True)
        self.generation = 1
        self.loaded_at = time.time()
        self.reload_lock = threading.Lock()

    def reload(self):
        with self.reload_lock:
            fresh = EmbeddingIndex.load(self.path, mmap=self.mmap, verify=True)
            _warm(fresh)
            self.index = fresh  # one reference assignment: running requests keep the old one
            self.generation += 1
            self.loaded_at = time.time()
            return fresh


class _Runner:
    """Runs a search on the event loop when it is cheap, else in the bounded worker pool."""

    def __init__(self, workers, timeout):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="graphembed-search")
        self.workers, self.timeout = workers, timeout
        self.loop = self.slots = None

    def _slots(self, loop):
        if loop is not self.loop:  # one per event loop (uvicorn runs one; test clients may not)
            self.loop, self.slots = loop, asyncio.Semaphore(self.workers)
        return self.slots

    async def __call__(self, work, fn):
        if work <= INLINE_MAX_WORK:
            return fn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        slots = self._slots(loop)
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise ApiError(503, f"server busy: no search worker came free within {self.timeout:g} s; "
                                "retry later") from None
        try:
            future = loop.run_in_executor(self.pool, fn)
        except BaseException:
            slots.release()
            raise

        def done(f):  # the slot is held until faiss really returns, even after a timeout
            slots.release()
            if not f.cancelled():
                f.exception()  # retrieved, so a late failure is not logged as unhandled

        future.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise ApiError(504, f"the search did not finish within {self.timeout:g} s; ask for "
                                "fewer ids or a smaller k, ef_search or nprobe") from None


class NeighborQueries:
    """The neighbour queries over one index, with the limits ``lim`` (:data:`DEFAULT_LIMITS`):
    the request models, the checks (unknown ids 404, cost 422) and the search run inline or in
    the bounded pool. One per app; the index is passed per call, so one app can serve several
    (the service's ``POST /embeddings/{id}/neighbors``). ``safe``: makes a message one line
    without server paths."""

    def __init__(self, lim, safe=redact, damaged="rebuild it and POST /reload"):
        self.lim = lim
        self.safe, self.damaged = safe, damaged
        self.run = _Runner(lim["heavy_concurrency"], lim["request_timeout"])
        self.models = _models(lim)

    @staticmethod
    def known(idx, ids):
        missing = [v for v in ids if v not in idx]
        if missing:
            shown = ", ".join(_short(v) for v in missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise ApiError(404, f"unknown node id {shown}" if len(missing) == 1
                           else f"{len(missing)} unknown node ids: {shown}")

    def budget(self, idx, n_queries, body):
        lim = self.lim
        work = _work(idx, n_queries, body.filter, k=body.k, ef_search=body.ef_search, nprobe=body.nprobe)
        if work > lim["max_work"]:
            raise ApiError(422, f"this request would compare about {work:,} vectors, over the limit "
                                f"of {lim['max_work']:,}: send fewer queries or a smaller k, "
                                "ef_search or nprobe")
        return work

    async def searched(self, work, fn):
        try:
            return await self.run(work, fn)
        except (InputError, RuntimeError, MemoryError) as exc:  # inputs were checked: the index failed
            raise ApiError(503, f"the search failed ({self.safe(exc) or type(exc).__name__}); the index "
                                f"may be damaged: {self.damaged}") from None

    async def neighbors(self, idx, body):
        """The answer to a ``NeighborsRequest`` ``body`` over ``idx`` (a JSON-ready dict)."""
        self.known(idx, body.ids)
        if body.filter is not None:
            self.known(idx, body.filter)
        work = self.budget(idx, len(body.ids), body)
        result = await self.searched(work, lambda: idx.neighbors(
            body.ids, k=body.k, filter=body.filter, ef_search=body.ef_search, nprobe=body.nprobe))
        return {"k": body.k, "metric": idx.metric, "results": _results(body.ids, result)}


# ---------------------------------------------------------------------------- the app
def create_app(index_path, *, token=None, mmap=True, allowed_hosts=None, **limits):
    """A FastAPI app (wrapped in the ASGI :class:`Guard`) serving the index directory ``index_path``.

    ``token``: bearer token every endpoint but ``/healthz`` and the docs requires (``/reload``
    is refused without one); empty or whitespace-only raises InputError. ``allowed_hosts``:
    ``Host`` names answered (loopback always; ``"*"`` any); default: loopback only without a
    token, any with one. ``limits``: the keys of :data:`DEFAULT_LIMITS` (counts, bytes, seconds).
    """
    unknown = set(limits) - set(DEFAULT_LIMITS)
    if unknown:
        raise TypeError(f"unknown limits {sorted(unknown)}")
    token = check_token(token)
    lim = {**DEFAULT_LIMITS, **limits}
    state = _State(str(index_path), mmap)
    _warm(state.index)
    name = Path(index_path).resolve().name
    paths = (str(index_path), str(Path(index_path).resolve()), str(Path(index_path).absolute()))
    if allowed_hosts is None:
        hosts = LOOPBACK_HOSTS if token is None else None
    else:
        hosts = None if "*" in allowed_hosts else (*LOOPBACK_HOSTS, *allowed_hosts)

    def safe(text):
        return redact(text, paths)

    queries = NeighborQueries(lim, safe)
    NeighborsRequest, SearchRequest, SimilarityRequest = queries.models

    app = FastAPI(title="graphembed neighbour service",
                  description=f"Nearest neighbours over the index {name}.", version=_version())
    app.state.graphembed = state

    async def authorized(request: Request):
        check_bearer(request)

    def check_bearer(request):
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    known, budget, searched = queries.known, queries.budget, queries.searched

    @app.exception_handler(ApiError)
    async def _api_error(request, exc):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "malformed JSON body"}, status_code=400)
        detail = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg")),
                   "type": str(e.get("type"))} for e in errors[:20]]
        message = _validation_message(errors[0], lim) if errors else "invalid request"
        return JSONResponse({"error": message, "detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8, a huge number)
            return JSONResponse({"error": "malformed JSON body"}, status_code=400)
        return JSONResponse({"error": safe(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    async def _input_error(request, exc):
        return JSONResponse({"error": safe(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # a bug: the Guard logs one line; no details leave
        return JSONResponse({"error": "internal error (logged on the server)"}, status_code=500)

    @app.get("/healthz", summary="Liveness: the index is loaded")
    async def healthz():
        return {"status": "ok", "nodes": len(state.index), "generation": state.generation}

    @app.get("/info", summary="The index description", dependencies=[Depends(authorized)])
    async def info():
        out = _redact_tree(state.index.info(), paths)  # embedding params may name input files
        out.update(path=name, generation=state.generation, loaded_at=state.loaded_at, limits=lim,
                   auth=token is not None)
        return JSONResponse(out)

    @app.get("/nodes/{node_id:path}/vector", summary="The stored vector of a node",
             dependencies=[Depends(authorized)])
    async def node_vector(node_id: str):
        idx = state.index
        known(idx, [node_id])
        pos = idx.positions([node_id])[0]
        vec = idx._reconstruct([pos])[0]
        value = idx.node_ids[pos]
        return JSONResponse({"id": value.item() if hasattr(value, "item") else value,
                             "normalized": bool(idx.meta.get("normalized")),
                             "vector": [_score(x) for x in vec.tolist()]})

    @app.post("/neighbors", summary="Nearest neighbours of indexed nodes (each excluding itself)",
              dependencies=[Depends(authorized)])
    async def neighbors(body: NeighborsRequest):
        return JSONResponse(await queries.neighbors(state.index, body))

    @app.post("/search", summary="Nearest neighbours of query vectors", dependencies=[Depends(authorized)])
    async def search(body: SearchRequest):
        idx = state.index
        q = _query_matrix(body.vectors, idx.dim)
        if body.filter is not None:
            known(idx, body.filter)
        work = budget(idx, len(q), body)
        result = await searched(work, lambda: idx.search(
            q, k=body.k, filter=body.filter, ef_search=body.ef_search, nprobe=body.nprobe))
        return JSONResponse({"k": body.k, "metric": idx.metric,
                             "results": _results(range(len(q)), result)})

    @app.post("/similarity", summary="Score of node pairs under the index metric",
              dependencies=[Depends(authorized)])
    async def similarity(body: SimilarityRequest):
        idx = state.index
        known(idx, [v for p in body.pairs for v in p])
        scores = await searched(len(body.pairs) * 100, lambda: idx.similarity(body.pairs))
        return JSONResponse({"metric": idx.metric, "scores": [_score(s) for s in scores.tolist()]})

    @app.post("/reload", summary="Load the rebuilt index directory and swap it in (token required)")
    def reload(request: Request):
        if token is None:
            raise ApiError(403, "reload is disabled: start the server with --token-file "
                                "(or GRAPHEMBED_TOKEN)")
        check_bearer(request)
        try:
            fresh = state.reload()
        except Exception as exc:  # noqa: BLE001 - any failure keeps the old index
            raise ApiError(409, f"reload failed, still serving the previous index: "
                                f"{safe(exc) or type(exc).__name__}") from None
        return {"reloaded": True, "generation": state.generation, "nodes": len(fresh),
                "checksum": fresh.meta.get("checksum")}

    return Guard(app, max_bytes=lim["max_body_bytes"] or None, allowed_hosts=hosts,
                 body_timeout=lim["body_timeout"] or None)


def _query_matrix(vectors, dim):
    """The query vectors as a float32 (n, dim) array, or 422 naming the problem."""
    dims = {len(v) for v in vectors}
    if dims != {dim}:
        raise ApiError(422, f"vectors must have dimension {dim}, got {sorted(dims)[:10]}")
    try:
        q = np.array(vectors, dtype=np.float64)
    except (OverflowError, ValueError):
        raise ApiError(422, "vectors: a value is too large for a float") from None
    with np.errstate(over="ignore", invalid="ignore"):
        q32 = q.astype(np.float32)
    if not np.isfinite(q32).all():
        raise ApiError(422, "vectors must hold finite float32 values (no NaN or infinity, "
                            "magnitude below 3.4e38)")
    return q32


def _warm(index):
    """Build the id lookup now rather than inside the first request."""
    if len(index):
        index.positions(index.node_ids[:1].tolist())


def _version():
    from graphembed import __version__

    return __version__



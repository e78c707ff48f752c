"""The neighbour service: a FastAPI app over one index directory (imported only by ``graphembed serve``).

Endpoints: ``GET /healthz``, ``GET /info``, ``GET /nodes/{id}/vector``, ``POST /neighbors``,
``POST /search``, ``POST /similarity``, ``POST /reload`` (token required); OpenAPI docs at ``/docs``.
Every error is a JSON object ``{"error": "..."}`` with a 4xx status: malformed JSON 400, missing or
wrong token 401, reload without a configured token 403, unknown node ids 404, a failed reload 409,
a body over the size cap 413, invalid fields, wrong dimensions and over-limit k or batch 422.

Small queries (few query rows times the vectors an exact scan would touch) run on the event loop
itself: handing a sub-millisecond faiss call to a worker thread costs more than the call, and the
hand-offs are what made the latency tail long. Larger ones run in the worker threads, so a big batch
never holds up the loop.

The index is read-only while serving. ``/reload`` loads the index directory again (rebuilt and
renamed into place by ``graphembed index build``) and swaps it in with one reference assignment:
requests already running finish on the index they started with, none is dropped.
"""
import math
import os
import secrets
import threading
import time
from typing import List, Optional, Tuple, Union

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphembed.index import EmbeddingIndex
from graphembed.io.errors import InputError

NodeId = Union[StrictInt, StrictStr]
Number = Union[StrictFloat, StrictInt]

INLINE_MAX_WORK = 2_000_000      # query rows x vectors scanned (exact) or x 10,000 (approximate)
DEFAULT_LIMITS = {"max_k": 1000, "max_batch": 1024, "max_pairs": 10_000, "max_filter": 100_000,
                  "max_body_bytes": 4 << 20}


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------- request bodies
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NeighborsRequest(_Strict):
    ids: List[NodeId] = Field(..., min_length=1, description="Node ids; each is excluded from its own results.")
    k: StrictInt = Field(10, ge=1)
    filter: Optional[List[NodeId]] = Field(None, description="Search only among these node ids.")
    ef_search: Optional[StrictInt] = Field(None, ge=1, description="HNSW search effort.")
    nprobe: Optional[StrictInt] = Field(None, ge=1, description="IVF lists probed.")


class SearchRequest(_Strict):
    vectors: List[List[Number]] = Field(..., min_length=1, description="Query vectors of the index dimension.")
    k: StrictInt = Field(10, ge=1)
    filter: Optional[List[NodeId]] = None
    ef_search: Optional[StrictInt] = Field(None, ge=1)
    nprobe: Optional[StrictInt] = Field(None, ge=1)


class SimilarityRequest(_Strict):
    pairs: List[Tuple[NodeId, NodeId]] = Field(..., min_length=1)


# ---------------------------------------------------------------------------- helpers
def _score(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _results(queries, result):
    return [{"id": q, "neighbors": [{"id": v, "score": _score(s)}
                                    for v, s in zip(ids.tolist(), scores.tolist())]}
            for q, (ids, scores) in zip(queries, result)]


class _BodyLimit:
    """Reject request bodies over ``max_bytes`` with 413 before the app reads them."""

    def __init__(self, app, max_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._reject(scope, receive, send)
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                return await self._reject(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _reject(self, scope, receive, send):
        response = JSONResponse({"error": f"request body over {self.max_bytes} bytes"}, status_code=413)
        await response(scope, receive, send)


class _State:
    def __init__(self, path, mmap):
        self.path = path
        self.mmap = mmap
        self.index = EmbeddingIndex.load(path, mmap=mmap)
        self.generation = 1
        self.loaded_at = time.time()
        self.reload_lock = threading.Lock()

    def reload(self):
        with self.reload_lock:
            fresh = EmbeddingIndex.load(self.path, mmap=self.mmap)
            _warm(fresh)
            self.index = fresh  # one reference assignment: running requests keep the old one
            self.generation += 1
            self.loaded_at = time.time()
            return fresh


# ---------------------------------------------------------------------------- the app
def create_app(index_path, *, token=None, mmap=True, **limits):
    """A FastAPI app serving the index directory ``index_path``.

    ``token``: bearer token every endpoint but ``/healthz`` and the docs requires (``/reload``
    is refused without one). ``limits``: ``max_k``, ``max_batch`` (ids or vectors per request),
    ``max_pairs``, ``max_filter``, ``max_body_bytes``.
    """
    unknown = set(limits) - set(DEFAULT_LIMITS)
    if unknown:
        raise TypeError(f"unknown limits {sorted(unknown)}")
    lim = {**DEFAULT_LIMITS, **limits}
    state = _State(str(index_path), mmap)
    _warm(state.index)

    app = FastAPI(title="graphembed neighbour service",
                  description=f"Nearest neighbours over the index {index_path}.",
                  version=_version())
    app.state.graphembed = state

    async def authorized(request: Request):
        check_token(request)

    def check_token(request):
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    def check_k(k):
        if k > lim["max_k"]:
            raise ApiError(422, f"k={k} is over the limit of {lim['max_k']}")

    def check_batch(n, what):
        if n > lim["max_batch"]:
            raise ApiError(422, f"{n} {what} in one request is over the limit of {lim['max_batch']}")

    def check_filter(flt):
        if flt is not None:
            if len(flt) > lim["max_filter"]:
                raise ApiError(422, f"filter of {len(flt)} ids is over the limit of {lim['max_filter']}")
            if not flt:
                raise ApiError(422, "filter must list at least one node id")

    def unknown_ids(idx, ids):
        try:
            idx.positions(ids)
        except InputError as exc:
            raise ApiError(404, str(exc)) from None

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
                   "type": str(e.get("type"))} for e in errors]
        first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
        where = ".".join(x for x in first["loc"] if x != "body")
        return JSONResponse({"error": f"invalid request: {where + ': ' if where else ''}{first['msg']}",
                             "detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    async def _input_error(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # a bug, still a JSON answer
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    @app.get("/healthz", summary="Liveness: the index is loaded")
    async def healthz():
        return {"status": "ok", "nodes": len(state.index), "generation": state.generation}

    @app.get("/info", summary="The index description", dependencies=[Depends(authorized)])
    async def info():
        out = state.index.info()
        out.update(generation=state.generation, loaded_at=state.loaded_at, limits=lim,
                   auth=token is not None)
        return JSONResponse(out)

    @app.get("/nodes/{node_id:path}/vector", summary="The stored vector of a node",
             dependencies=[Depends(authorized)])
    async def node_vector(node_id: str):
        idx = state.index
        unknown_ids(idx, [node_id])
        pos = idx.positions([node_id])[0]
        vec = idx._reconstruct([pos])[0]
        return JSONResponse({"id": idx.node_ids[pos].item() if hasattr(idx.node_ids[pos], "item")
                             else idx.node_ids[pos],
                             "normalized": bool(idx.meta.get("normalized")),
                             "vector": [_score(x) for x in vec.tolist()]})

    @app.post("/neighbors", summary="Nearest neighbours of indexed nodes (each excluding itself)",
              dependencies=[Depends(authorized)])
    async def neighbors(body: NeighborsRequest):
        check_k(body.k)
        check_batch(len(body.ids), "ids")
        check_filter(body.filter)
        idx = state.index
        unknown_ids(idx, body.ids)
        if body.filter is not None:
            unknown_ids(idx, body.filter)
        result = await _run(_work(idx, len(body.ids), body.filter), lambda: idx.neighbors(
            body.ids, k=body.k, filter=body.filter, ef_search=body.ef_search, nprobe=body.nprobe))
        return JSONResponse({"k": body.k, "metric": idx.metric, "results": _results(body.ids, result)})

    @app.post("/search", summary="Nearest neighbours of query vectors", dependencies=[Depends(authorized)])
    async def search(body: SearchRequest):
        check_k(body.k)
        check_batch(len(body.vectors), "vectors")
        check_filter(body.filter)
        idx = state.index
        dims = {len(v) for v in body.vectors}
        if dims != {idx.dim}:
            raise ApiError(422, f"vectors must have dimension {idx.dim}, got {sorted(dims)}")
        if body.filter is not None:
            unknown_ids(idx, body.filter)
        result = await _run(_work(idx, len(body.vectors), body.filter), lambda: idx.search(
            body.vectors, k=body.k, filter=body.filter, ef_search=body.ef_search, nprobe=body.nprobe))
        return JSONResponse({"k": body.k, "metric": idx.metric,
                             "results": _results(range(len(body.vectors)), result)})

    @app.post("/similarity", summary="Score of node pairs under the index metric",
              dependencies=[Depends(authorized)])
    async def similarity(body: SimilarityRequest):
        if len(body.pairs) > lim["max_pairs"]:
            raise ApiError(422, f"{len(body.pairs)} pairs is over the limit of {lim['max_pairs']}")
        idx = state.index
        unknown_ids(idx, [v for p in body.pairs for v in p])
        scores = await _run(len(body.pairs) * 100, lambda: idx.similarity(body.pairs))
        return JSONResponse({"metric": idx.metric,
                             "scores": [_score(s) for s in scores.tolist()]})

    @app.post("/reload", summary="Load the rebuilt index directory and swap it in (token required)")
    def reload(request: Request):
        if token is None:
            raise ApiError(403, "reload is disabled: start the server with --token (or GRAPHEMBED_TOKEN)")
        check_token(request)
        try:
            fresh = state.reload()
        except (InputError, OSError, RuntimeError) as exc:
            raise ApiError(409, f"reload failed, still serving the previous index: {exc}") from None
        return {"reloaded": True, "generation": state.generation, "nodes": len(fresh),
                "checksum": fresh.meta.get("checksum")}

    return _BodyLimit(app, lim["max_body_bytes"]) if lim["max_body_bytes"] else app


def _work(index, n_queries, filter=None):
    """A rough cost of a query batch: query rows times the vectors it compares against."""
    if filter is not None:
        per_query = len(filter)
    elif index.factory.upper().startswith("FLAT"):
        per_query = len(index)
    else:
        per_query = 10_000
    return n_queries * per_query


async def _run(work, fn):
    """``fn()`` on the event loop when ``work`` is small, else in a worker thread."""
    if work <= INLINE_MAX_WORK:
        return fn()
    return await run_in_threadpool(fn)


def _warm(index):
    """Build the id lookup now rather than inside the first request."""
    if len(index):
        index.positions(index.node_ids[:1].tolist())


def _version():
    from graphembed import __version__

    return __version__


def token_from_env(token=None):
    return token or os.environ.get("GRAPHEMBED_TOKEN") or None

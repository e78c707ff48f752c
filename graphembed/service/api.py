"""The analytics service's HTTP layer: a FastAPI app over a :class:`~graphembed.service.core.ServiceCore`
(imported only by ``graphembed serve --data-dir`` and the tests).

Routes (every one but ``/healthz``, ``/``, ``/static/*`` and the docs needs ``Authorization: Bearer
<token>``; the read token is enough for GETs and neighbour queries, every other route needs the
write token): ``GET /methods``; ``POST /graphs`` (multipart upload), ``POST /graphs/register``,
``GET /graphs``, ``GET|DELETE /graphs/{gid}``; ``POST /jobs``, ``GET /jobs``, ``GET|DELETE
/jobs/{jid}``, ``GET /jobs/{jid}/result``; ``POST /embeddings/{jid}/neighbors``, ``GET
/embeddings/{jid}/map``. The OpenAPI schema at ``/openapi.json`` declares every request and
response body (records, errors), so generated clients and schemathesis can check the answers.

Every error is ``{"error": "one line"}`` (with ``"param"`` on 422), never a traceback and never a
server path: the core's ``ServiceError`` keeps its status; FastAPI's validation errors become 422
naming the field; an escaped exception is logged in one line by the :class:`Guard` and answered
500. Uploads are streamed, chunk by chunk, into the core's ``upload_dir`` (``DATA/tmp``) under the
upload cap (413); every other body is read whole under ``max_body_bytes`` (413).
"""
import asyncio
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Dict, List, Literal, Optional, Union

from fastapi import Depends, FastAPI, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphembed.io.errors import InputError
from graphembed.service.app import DEFAULT_LIMITS, ApiError, NeighborQueries, _validation_message, redact
from graphembed.service.errors import ServiceError
from graphembed.service.guard import Guard

GRAPH_ID = r"^g[0-9]{1,18}$"
JOB_ID = r"^j[0-9]{1,18}$"
STATES = ("queued", "running", "done", "failed", "cancelled")
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$"
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json"}
RESULT_TYPES = {"parquet": "application/vnd.apache.parquet", "npz": "application/x-npz", "json": "application/json"}
ACCEPTED = {"application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet",
            "application/parquet": "parquet", "application/x-npz": "npz", "application/npz": "npz",
            "application/json": "json"}
UPLOAD_FIELDS = ("name", "directed", "format", "delimiter", "header", "weighted")
MAX_FIELD_BYTES = 4096            # a text field of the upload form
MAX_PARTS = 16
CHUNK_TIMEOUT = 60.0              # seconds an upload may stall between two chunks
MULTIPART_SLACK = 64 << 10        # form overhead allowed on top of the upload cap


# ---------------------------------------------------------------------------- models
class _Open(BaseModel):
    """A record the core may extend: unknown keys are allowed (and documented as such)."""
    model_config = ConfigDict(extra="allow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str = Field(..., description="One line; never a server path or a traceback.")


class InvalidBody(BaseModel):
    error: str
    param: Optional[str] = Field(None, description="The parameter or field at fault.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class GraphRecord(_Open):
    id: str = Field(..., pattern=GRAPH_ID)
    name: Optional[str] = None
    filename: Optional[str] = None
    directed: bool
    weighted: Optional[bool] = None
    n_nodes: int
    n_edges: int
    has_labels: bool
    created: Optional[str] = None
    info: Dict[str, Any] = Field(default_factory=dict, description="The `graphembed info --json` statistics.")


class Progress(_Open):
    stage: Optional[str] = None
    fraction: Optional[float] = None


class Timings(_Open):
    queued_s: Optional[float] = None
    run_s: Optional[float] = None


class JobRecord(_Open):
    id: str = Field(..., pattern=JOB_ID)
    graph: str
    task: str
    method: Optional[str] = None
    params: Dict[str, Any] = Field(default_factory=dict, description="As validated, the seed filled in.")
    index: bool = False
    state: Literal[STATES]
    progress: Progress
    error: Optional[str] = None
    attempts: int = 0
    created: Optional[str] = None
    started: Optional[str] = None
    finished: Optional[str] = None
    timings: Timings
    memory_estimate_bytes: Optional[int] = None
    results: Dict[str, bool] = Field(default_factory=dict)


class TaskInfo(_Open):
    methods: Optional[List[str]] = None
    params: Dict[str, Any] = Field(default_factory=dict, description="JSON Schema of the task's own params.")


class Methods(_Open):
    tasks: Dict[str, TaskInfo]
    embedders: Dict[str, Dict[str, Any]] = Field(..., description="JSON Schema of each embedder's params.")


class RegisterRequest(_Strict):
    path: StrictStr = Field(..., min_length=1, max_length=1000,
                            description="A file under the data directory, relative to it.")
    labels: Optional[StrictStr] = Field(None, min_length=1, max_length=1000,
                                        description="A node-label file under the data directory.")
    name: Optional[StrictStr] = Field(None, max_length=200)
    directed: StrictBool = False
    format: Optional[StrictStr] = Field(None, max_length=40)
    delimiter: Optional[StrictStr] = Field(None, max_length=8)
    header: Optional[StrictBool] = None
    weighted: Optional[StrictBool] = None


NodeId = Union[int, str]


class Neighbor(BaseModel):
    id: NodeId
    score: Optional[float] = None


class NeighborResult(BaseModel):
    id: NodeId
    neighbors: List[Neighbor]


class NeighborsAnswer(BaseModel):
    k: int
    metric: str
    results: List[NeighborResult]


class EmbeddingMap(_Open):
    ids: List[NodeId]
    x: List[Optional[float]]
    y: List[Optional[float]]
    method: str


def _errors(*codes):
    """The ``responses=`` entry of a route for these error statuses."""
    text = {400: "Bad request (malformed body, unreadable upload)", 401: "Missing or wrong token",
            403: "Read-only token on a write route, or a path outside the data directory",
            404: "Unknown id", 406: "The result is not available in the asked format",
            408: "Body not received in time", 409: "Conflict with the job's or graph's state",
            413: "Body or upload over the cap", 415: "Unknown graph file format",
            421: "Host not served", 422: "Invalid parameter", 503: "Busy or index failure",
            504: "Over the time limit", 507: "Refused: over the memory budget"}
    return {c: {"model": InvalidBody if c == 422 else ErrorBody, "description": text[c]} for c in codes}


# ---------------------------------------------------------------------------- helpers
def _client_filename(raw):
    """The base name of a client's file name (no directories, one line, at most 200 characters)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "upload"


def _suffix(filename):
    m = re.search(r"((?:\.[A-Za-z0-9]{1,8}){1,2})$", filename)
    return m.group(1).lower() if m else ""


def _form_bool(name, value):
    if value is None:
        return None
    text = value.strip().lower()
    if text == "":
        return None
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise _error(422, f"{name} must be true or false, got {value[:40]!r}", param=name)


def _error(status, message, param=None):
    """An error of the HTTP layer itself, as the core's: status, one line, the parameter."""
    return ServiceError(message, param=param, status=status)


def _wanted_format(accept):
    """The result format named by an ``Accept`` header, or None (``*/*``, a browser's list)."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in ACCEPTED:
            return ACCEPTED[media]
        if media in ("*/*", "text/html"):
            return None
    return None


def _check_id(value, pattern, what):
    if not isinstance(value, str) or not re.fullmatch(pattern.strip("^$"), value):
        raise _error(404, f"unknown {what} id {str(value)[:40]!r}")
    return value


class _Upload:
    """One multipart upload being received: text fields in memory (capped), file parts written
    to ``upload_dir`` as they arrive, the whole body under ``cap`` bytes of file data."""

    def __init__(self, upload_dir, cap):
        self.dir, self.cap = Path(upload_dir), cap
        self.fields, self.files = {}, {}     # name -> str ; name -> (path, client filename)
        self.paths, self.total, self.parts = [], 0, 0
        self._headers, self._field, self._value = {}, b"", b""
        self._name = self._out = self._buf = None
        self.error = None

    # python-multipart callbacks
    def on_part_begin(self):
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _error(400, f"more than {MAX_PARTS} parts in the upload form")
        self._headers, self._field, self._value = {}, b"", b""

    def on_header_field(self, data, start, end):
        self._field += data[start:end]

    def on_header_value(self, data, start, end):
        self._value += data[start:end]

    def on_header_end(self):
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field, self._value = b"", b""

    def on_headers_finished(self):
        from python_multipart.multipart import parse_options_header

        _, opts = parse_options_header(self._headers.get("content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        filename = opts.get(b"filename")
        self._name, self._out, self._buf = name, None, None
        if name in ("file", "labels"):
            if name in self.files:
                raise _error(400, f"the upload form has more than one {name!r} part")
            client = _client_filename(filename.decode("utf-8", "replace") if filename else name)
            path = self.dir / f"upload-{secrets.token_hex(8)}{_suffix(client)}"
            self.paths.append(path)
            self._out = open(path, "xb")
            self.files[name] = (path, client)
        elif name in UPLOAD_FIELDS:
            if name in self.fields:
                raise _error(400, f"the upload form has more than one {name!r} field")
            self._buf = bytearray()
        else:
            shown = name[:40] or "(unnamed)"
            raise _error(422, f"unknown form field {shown!r}; the fields are file, labels, "
                                     + ", ".join(UPLOAD_FIELDS), param=name[:40] or None)

    def on_part_data(self, data, start, end):
        n = end - start
        if self._out is not None:
            self.total += n
            if self.total > self.cap:
                raise _error(413, f"upload over the limit of {self.cap} bytes (--max-upload-bytes)")
            self._out.write(data[start:end])
        elif self._buf is not None:
            if len(self._buf) + n > MAX_FIELD_BYTES:
                raise _error(413, f"form field {self._name!r} over {MAX_FIELD_BYTES} bytes")
            self._buf += data[start:end]

    def on_part_end(self):
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._buf is not None:
            try:
                self.fields[self._name] = bytes(self._buf).decode("utf-8")
            except UnicodeDecodeError:
                raise _error(422, f"form field {self._name!r} is not UTF-8 text",
                                    param=self._name) from None
            self._buf = None

    def callbacks(self):
        return {k: getattr(self, k) for k in ("on_part_begin", "on_header_field", "on_header_value",
                                              "on_header_end", "on_headers_finished", "on_part_data",
                                              "on_part_end")}

    def cleanup(self):
        if self._out is not None:
            self._out.close()
        for path in self.paths:
            try:
                os.unlink(path)
            except OSError:
                pass


async def _receive_upload(request, upload_dir, cap):
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    media, opts = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data" or not opts.get(b"boundary"):
        raise _error(415, "POST /graphs takes a multipart/form-data body (curl -F file=@edges.csv)")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap + MULTIPART_SLACK:
        raise _error(413, f"upload over the limit of {cap} bytes (--max-upload-bytes)")
    upload = _Upload(upload_dir, cap)
    try:
        parser = MultipartParser(opts[b"boundary"], upload.callbacks(), max_header_count=8,
                                 max_header_size=4224)
        stream = request.stream().__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), CHUNK_TIMEOUT)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError:
                raise _error(408, f"upload stalled for {CHUNK_TIMEOUT:g} s") from None
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        upload.cleanup()
        raise _error(400, f"malformed multipart body ({' '.join(str(exc).split())[:100]})") from None
    except BaseException:
        upload.cleanup()
        raise
    return upload


# ---------------------------------------------------------------------------- the app
class ServiceApp:
    """The ASGI app: ``POST /graphs`` goes through a :class:`Guard` that does not buffer the body
    (the route streams it to disk under the upload cap); everything else through one that reads
    the body whole under ``max_body_bytes``. Attributes are the FastAPI app's (``.openapi()``...)."""

    def __init__(self, app, hosts, max_body_bytes, body_timeout):
        self.app = app
        self._stream = Guard(app, allowed_hosts=hosts)
        self._whole = Guard(app, max_bytes=max_body_bytes, allowed_hosts=hosts, body_timeout=body_timeout)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST" and \
                scope.get("path", "").rstrip("/") == "/graphs":
            return await self._stream(scope, receive, send)
        return await self._whole(scope, receive, send)

    def __getattr__(self, name):
        return getattr(self.app, name)


def create_service_app(core, *, cors_origins=(), max_body_bytes=DEFAULT_LIMITS["max_body_bytes"],
                       allowed_hosts=None, max_upload_bytes=None, body_timeout=30.0, **limits):
    """The service's ASGI app over a started ``core``.

    ``cors_origins``: origins allowed cross-origin requests (none: CORS off). ``max_body_bytes``:
    cap on a JSON body; ``max_upload_bytes``: on an upload's file data (default: the core's).
    ``allowed_hosts``: ``Host`` names answered besides loopback (``"*"`` or None: any; a token
    is always required). ``limits``: neighbour-query limits, the keys of ``DEFAULT_LIMITS``.
    """
    unknown = set(limits) - set(DEFAULT_LIMITS)
    if unknown:
        raise TypeError(f"unknown limits {sorted(unknown)}")
    lim = {**DEFAULT_LIMITS, **limits, "max_body_bytes": max_body_bytes, "body_timeout": body_timeout}
    cap = max_upload_bytes if max_upload_bytes is not None else getattr(core, "max_upload_bytes", 1 << 30)
    tokens = core.tokens()
    write_token, read_token = tokens["write"].encode(), tokens["read"].encode()
    data_dir = getattr(core, "data_dir", None)
    paths = [str(p) for p in (data_dir, getattr(core, "upload_dir", None)) if p]
    paths += [str(Path(p).resolve()) for p in paths]
    hosts = None if allowed_hosts is None or "*" in allowed_hosts else \
        ("127.0.0.1", "localhost", "::1", *allowed_hosts)

    def safe(text):
        return redact(text, paths)

    queries = NeighborQueries(lim, safe, damaged="resubmit the embedding job with \"index\": true")
    NeighborsRequest = queries.models[0]
    try:
        task_names = tuple(sorted(core.methods()["tasks"]))
    except Exception:  # noqa: BLE001 - the schema then takes any task name; the core still checks
        task_names = ()
    Task = Literal[task_names] if task_names else StrictStr

    class JobSpec(_Strict):
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": 16}, "index": True}]})

        graph: StrictStr = Field(..., pattern=GRAPH_ID, description="The graph's id (g<n>).")
        task: Task = Field(..., description="What to run; GET /methods lists the tasks.")
        method: Optional[StrictStr] = Field(None, max_length=100, description="The embedder, where the task takes one.")
        params: Dict[str, Any] = Field(default_factory=dict,
                                       description="The method's and the task's parameters, one flat object.")
        index: StrictBool = Field(False, description="Also build a neighbour index (embed jobs).")

    app = FastAPI(title="graphembed analytics service", version=_version(),
                  description="A graph catalog, embedding and analytics jobs, their results and "
                              "neighbour queries. Every error is {\"error\": \"one line\"}.")
    app.state.core = core
    bearer = HTTPBearer(auto_error=False, description="The write token (DATA/token) or the read-only one "
                                                      "(DATA/token.read).")

    def scope_of(request):
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        given = given.strip().encode("utf-8", "replace")
        if scheme.lower() == "bearer" and given:
            if hmac.compare_digest(given, write_token):
                return "write"
            if hmac.compare_digest(given, read_token):
                return "read"
        raise _error(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    async def reader(request: Request, _: Annotated[Any, Depends(bearer)] = None):
        scope_of(request)

    async def writer(request: Request, _: Annotated[Any, Depends(bearer)] = None):
        if scope_of(request) != "write":
            raise _error(403, "the read-only token cannot change anything: use the write token")

    read, write = [Depends(reader)], [Depends(writer)]

    # ------------------------------------------------------------------ error answers
    def error_response(status, message, param=None):
        body = {"error": safe(message) or "error"}
        if status == 422:
            body["param"] = param
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ServiceError)
    async def _service_error(request, exc):
        return error_response(exc.status, exc.message, getattr(exc, "param", None))

    @app.exception_handler(ApiError)
    async def _api_error(request, exc):
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed JSON body")
        if not errors:
            return error_response(422, "invalid request")
        first = errors[0]
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "path", "query")]
        return error_response(422, _validation_message(first, lim), ".".join(loc) or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        if exc.status_code == 400:
            return error_response(400, "malformed JSON body")
        return JSONResponse({"error": safe(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    async def _input_error(request, exc):
        return error_response(400, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # a bug: the Guard logs one line; no details leave
        return JSONResponse({"error": "internal error (logged on the server)"}, status_code=500)

    def ok(value, status=200):
        return JSONResponse(value, status_code=status)

    # ------------------------------------------------------------------ open routes
    @app.get("/healthz", response_model=Health, summary="Liveness (no token)", responses=_errors(421))
    def healthz():
        return ok({"status": "ok", "version": _version()})

    @app.get("/", response_class=Response, summary="The web page (no token; it asks for one)",
             responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **_errors(404, 421)})
    def page():
        path = STATIC_DIR / "index.html"
        if not path.is_file():
            raise _error(404, "the web page is not installed")
        return FileResponse(path, media_type="text/html")

    @app.get("/static/{file}", response_class=Response, summary="The web page's script and style (no token)",
             responses={200: {"content": {t: {"schema": {"type": "string"}} for t in sorted(set(STATIC_TYPES.values()))}},
                        **_errors(404, 421, 422)})
    def static(file: str = PathParam(..., pattern=STATIC_NAME, max_length=100, examples=["app.js"])):
        names = {p.name for p in STATIC_DIR.iterdir() if p.is_file()} if STATIC_DIR.is_dir() else set()
        if file not in names or Path(file).suffix not in STATIC_TYPES:  # only files of that folder
            raise _error(404, f"no static file {file[:40]!r}")
        return FileResponse(STATIC_DIR / file, media_type=STATIC_TYPES[Path(file).suffix])

    # ------------------------------------------------------------------ catalog
    @app.get("/methods", response_model=Methods, dependencies=read, responses=_errors(401, 421),
             summary="The tasks, their methods and every parameter's JSON Schema")
    def methods():
        return ok(core.methods())

    @app.post("/graphs", status_code=201, response_model=GraphRecord, dependencies=write,
              summary="Upload a graph file (multipart: file, labels, name, directed, format, delimiter, "
                      "header, weighted)",
              responses=_errors(400, 401, 403, 408, 413, 415, 421, 422),
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"], "additionalProperties": False,
                  "properties": {
                      "file": {"type": "string", "format": "binary", "description": "The edge list (any format the CLI reads)."},
                      "labels": {"type": "string", "format": "binary", "description": "Node labels (node, label)."},
                      "name": {"type": "string", "maxLength": 200},
                      "directed": {"type": "boolean", "default": False},
                      "format": {"type": "string", "maxLength": 40},
                      "delimiter": {"type": "string", "maxLength": 8},
                      "header": {"type": "boolean"},
                      "weighted": {"type": "boolean"}}}}}}})
    async def upload_graph(request: Request):
        upload = await _receive_upload(request, core.upload_dir, cap)
        try:
            if "file" not in upload.files:
                raise _error(422, "the upload needs a file part (curl -F file=@edges.csv)", param="file")
            f = upload.fields
            opts = {"name": f.get("name") or None, "directed": bool(_form_bool("directed", f.get("directed"))),
                    "format": f.get("format") or None, "delimiter": f.get("delimiter") or None,
                    "header": _form_bool("header", f.get("header")),
                    "weighted": _form_bool("weighted", f.get("weighted"))}
            path, filename = upload.files["file"]
            labels = upload.files.get("labels")
            if labels:
                opts.update(labels_path=labels[0], labels_filename=labels[1])
            record = await run_in_threadpool(core.add_graph, path, filename=filename, **opts)
        finally:
            upload.cleanup()
        return ok(record, 201)

    @app.post("/graphs/register", status_code=201, response_model=GraphRecord, dependencies=write,
              summary="Add a graph from a file already under the data directory",
              responses=_errors(400, 401, 403, 404, 413, 415, 421, 422))
    def register_graph(body: RegisterRequest):
        for value in (body.path, body.labels):
            if value is not None and "\x00" in value:
                raise _error(400, "a path may not contain a NUL character")
        opts = body.model_dump(exclude={"path", "labels"})
        if body.labels is not None:
            opts["labels_path"] = body.labels
        return ok(core.register_graph(body.path, **opts), 201)

    @app.get("/graphs", response_model=List[GraphRecord], dependencies=read, responses=_errors(401, 421),
             summary="Every graph in the catalog")
    def list_graphs():
        return ok(core.list_graphs())

    gid_param = PathParam(..., pattern=GRAPH_ID, description="A graph id (g<n>).", examples=["g1"])
    jid_param = PathParam(..., pattern=JOB_ID, description="A job id (j<n>).", examples=["j1"])

    @app.get("/graphs/{gid}", response_model=GraphRecord, dependencies=read,
             responses=_errors(401, 404, 421, 422), summary="One graph, with its statistics")
    def get_graph(gid: str = gid_param):
        return ok(core.get_graph(_check_id(gid, GRAPH_ID, "graph")))

    @app.delete("/graphs/{gid}", status_code=204, response_class=Response, dependencies=write,
                responses=_errors(401, 403, 404, 409, 421, 422), summary="Delete a graph (409 while jobs use it)")
    def delete_graph(gid: str = gid_param):
        core.delete_graph(_check_id(gid, GRAPH_ID, "graph"))
        return Response(status_code=204)

    # ------------------------------------------------------------------ jobs
    @app.post("/jobs", status_code=202, response_model=JobRecord, dependencies=write,
              responses=_errors(400, 401, 403, 404, 409, 413, 421, 422, 507),
              summary="Submit a job: {graph, task, method, params, index}")
    def submit(spec: JobSpec):
        return ok(core.submit(spec.model_dump()), 202)

    @app.get("/jobs", response_model=List[JobRecord], dependencies=read, responses=_errors(401, 421, 422),
             summary="Jobs, optionally of one graph or in one state")
    def list_jobs(graph: Optional[str] = Query(None, pattern=GRAPH_ID),
                  state: Optional[Literal[STATES]] = Query(None)):
        if graph is not None:
            _check_id(graph, GRAPH_ID, "graph")
        return ok(core.list_jobs(graph=graph, state=state))

    @app.get("/jobs/{jid}", response_model=JobRecord, dependencies=read,
             responses=_errors(401, 404, 421, 422), summary="One job: state, progress, timings, error")
    def get_job(jid: str = jid_param):
        return ok(core.get_job(_check_id(jid, JOB_ID, "job")))

    @app.delete("/jobs/{jid}", response_model=JobRecord, dependencies=write,
                responses=_errors(401, 403, 404, 409, 421, 422), summary="Cancel a queued or running job")
    def cancel(jid: str = jid_param):
        return ok(core.cancel(_check_id(jid, JOB_ID, "job")))

    @app.get("/jobs/{jid}/result", response_class=Response, dependencies=read,
             responses={200: {"description": "The result file",
                              "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                          for t in (*RESULT_TYPES.values(), "application/octet-stream")}},
                        **_errors(400, 401, 404, 406, 409, 421, 422)},
             summary="A done job's result: embedding/table as Parquet (or npz), summaries as JSON")
    def result(request: Request, jid: str = jid_param,
               format: Optional[Literal["parquet", "npz", "json"]] = Query(None)):
        _check_id(jid, JOB_ID, "job")
        fmt = format or _wanted_format(request.headers.get("accept"))
        path, media_type = core.result_file(jid, format=fmt)
        return FileResponse(path, media_type=media_type, filename=f"{jid}-{Path(path).name}")

    # ------------------------------------------------------------------ embeddings
    @app.post("/embeddings/{jid}/neighbors", response_model=NeighborsAnswer, dependencies=read,
              responses=_errors(400, 401, 404, 409, 413, 421, 422, 503, 504),
              summary="Nearest neighbours of nodes in an embedding job's index (each excluding itself)")
    async def neighbors(body: NeighborsRequest, jid: str = jid_param):
        idx = await run_in_threadpool(core.index, _check_id(jid, JOB_ID, "job"))
        return ok(await queries.neighbors(idx, body))

    @app.get("/embeddings/{jid}/map", response_model=EmbeddingMap, dependencies=read,
             responses=_errors(401, 404, 409, 421, 422), summary="A 2D map of the embedding (cached)")
    def embedding_map(jid: str = jid_param, method: Literal["pca", "umap"] = Query("pca")):
        return ok(core.embedding_map(_check_id(jid, JOB_ID, "job"), method=method))

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Accept"])
    return ServiceApp(app, hosts, max_body_bytes, body_timeout)


def _version():
    from graphembed import __version__

    return __version__


__all__ = ["create_service_app", "ServiceApp", "GraphRecord", "JobRecord"]

"""``ge.Client``: the Python client of the analytics service (``graphembed serve --data-dir``).

    import graphembed as ge
    c = ge.Client("http://127.0.0.1:8000", token=...)      # or GRAPHEMBED_TOKEN
    g = c.upload_graph("edges.csv")                         # or c.register_graph("files/edges.csv")
    job = c.submit(g, "embed", method="node2vec", params={"p": 0.5, "q": 2}, index=True)
    emb = job.wait().result()                               # a progress bar while waiting; ge.Embedding
    c.neighbors(job, ids=["alice"], k=10)

Needs httpx (the ``[serve]`` extra), imported on first use. Every failure raises
:class:`ServiceError` (an :class:`~graphembed.io.errors.InputError`) with the server's one-line
message, its HTTP ``status`` and, on 422, the ``param`` at fault.
"""
import io
import json
import os
import tempfile
import time
from pathlib import Path

from graphembed.io.errors import InputError

FINAL = ("done", "failed", "cancelled")
_SUFFIX = {"application/vnd.apache.parquet": ".parquet", "application/x-npz": ".npz",
           "application/json": ".json"}


class ServiceError(InputError):
    """An error answer of the service (or no answer): ``status`` (None: not reached), ``message``
    (one line), ``param`` (the parameter at fault, on 422)."""

    def __init__(self, message, status=None, param=None):
        super().__init__(message)
        self.message, self.status, self.param = message, status, param


def _http_client(base_url, headers, timeout):
    """The httpx client the :class:`Client` sends through (a seam for tests)."""
    try:
        import httpx
    except ImportError:
        raise ServiceError("ge.Client needs httpx: pip install 'graphembed[serve]'") from None
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout)


def _id(value, what):
    """The id of a record, a :class:`Job` or an id string."""
    if isinstance(value, Job):
        return value.id
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a {what} id, record or Job, got {type(value).__name__}")


class Job:
    """A submitted job: ``id``, ``record`` (the last JobRecord seen), ``state``; :meth:`refresh`,
    :meth:`wait`, :meth:`result`, :meth:`cancel`."""

    def __init__(self, client, record):
        self.client, self.record = client, record

    @property
    def id(self):
        return self.record["id"]

    @property
    def state(self):
        return self.record["state"]

    @property
    def error(self):
        return self.record.get("error")

    def __repr__(self):
        return f"Job({self.id!r}, task={self.record.get('task')!r}, state={self.state!r})"

    def refresh(self):
        self.record = self.client._json("GET", f"/jobs/{self.id}")
        return self

    def cancel(self):
        self.record = self.client._json("DELETE", f"/jobs/{self.id}")
        return self

    def wait(self, timeout=None, progress=True, poll=0.25):
        """Poll until the job is done, failed or cancelled (TimeoutError after ``timeout``
        seconds); a progress bar on stderr meanwhile when ``progress`` (and stderr is a terminal)."""
        from graphembed.base import progress as make_bar

        deadline = None if timeout is None else time.monotonic() + timeout
        bar = make_bar(100, f"{self.id} {self.record.get('task', '')}".strip(), progress)
        shown, delay = 0, min(poll, 0.05)
        try:
            while self.state not in FINAL:
                info = self.record.get("progress") or {}
                fraction = info.get("fraction")
                if fraction is not None:
                    step = max(0, min(100, int(fraction * 100)) - shown)
                    bar.update(step)
                    shown += step
                stage = info.get("stage") or self.state
                bar.set_description_str(f"{self.id} {stage}", refresh=False)
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"job {self.id} still {self.state} after {timeout:g} s")
                time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
                delay = min(delay * 2, poll)
                self.refresh()
            if self.state == "done":
                bar.update(100 - shown)
        finally:
            bar.close()
        return self

    def result(self):
        """The result of a done job: a ``ge.Embedding`` (embed), a pandas DataFrame (tables; a
        pyarrow Table without pandas) or a dict (summaries); ServiceError when it failed or was
        cancelled."""
        if self.state not in FINAL:
            self.refresh()
        if self.state != "done":
            reason = f": {self.error}" if self.error else ""
            raise ServiceError(f"job {self.id} is {self.state}{reason}", status=409)
        results = self.record.get("results") or {}
        if results.get("embedding"):
            from graphembed.embedding import Embedding

            data, _ = self.client._bytes(f"/jobs/{self.id}/result", params={"format": "parquet"})
            with tempfile.TemporaryDirectory(prefix="graphembed-client-") as tmp:
                path = Path(tmp) / "embedding.parquet"
                path.write_bytes(data)
                return Embedding.load(path)
        if results.get("table"):
            import pyarrow.parquet as pq

            data, _ = self.client._bytes(f"/jobs/{self.id}/result", params={"format": "parquet"})
            table = pq.read_table(io.BytesIO(data))
            try:
                return table.to_pandas()
            except ImportError:  # no pandas: the pyarrow Table itself
                return table
        data, _ = self.client._bytes(f"/jobs/{self.id}/result", params={"format": "json"})
        return json.loads(data)

    def download(self, path, format=None):
        """Write the result file to ``path`` (the format as the server chose it unless given)."""
        data, _ = self.client._bytes(f"/jobs/{self.id}/result", params={"format": format} if format else None)
        Path(path).write_bytes(data)
        return Path(path)


class Client:
    """A connection to the service at ``url``; ``token`` (else ``GRAPHEMBED_TOKEN``) is sent as
    ``Authorization: Bearer``. ``timeout``: seconds per request."""

    def __init__(self, url="http://127.0.0.1:8000", token=None, timeout=60.0):
        self.url = url.rstrip("/")
        token = token if token is not None else os.environ.get("GRAPHEMBED_TOKEN")
        headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
        self._http = _http_client(self.url, headers, timeout)

    def __repr__(self):
        return f"Client({self.url!r})"

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ transport
    def _send(self, method, path, **kw):
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise ServiceError(f"{self.url}{path}: no answer in time") from None
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ServiceError(f"cannot reach {self.url}: {reason}") from None
        if r.status_code >= 400:
            try:
                body = r.json()
                message, param = body.get("error") or r.reason_phrase, body.get("param")
            except (ValueError, AttributeError):
                message, param = f"HTTP {r.status_code} {r.reason_phrase}", None
            raise ServiceError(str(message), status=r.status_code, param=param)
        return r

    def _json(self, method, path, **kw):
        r = self._send(method, path, **kw)
        return None if r.status_code == 204 else r.json()

    def _bytes(self, path, params=None):
        r = self._send("GET", path, params=params)
        return r.content, r.headers.get("content-type", "")

    # ------------------------------------------------------------------ catalog
    def health(self):
        return self._json("GET", "/healthz")

    def methods(self):
        """The tasks, their methods and each one's parameter JSON Schema."""
        return self._json("GET", "/methods")

    def upload_graph(self, path, labels=None, *, name=None, directed=False, format=None, delimiter=None,
                     header=None, weighted=None):
        """Upload an edge-list file (and optional node labels); the GraphRecord."""
        fields = {"name": name, "directed": directed, "format": format, "delimiter": delimiter,
                  "header": header, "weighted": weighted}
        data = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in fields.items() if v is not None}
        path = Path(path)
        with open(path, "rb") as fh:
            files = {"file": (path.name, fh, "application/octet-stream")}
            if labels is None:
                return self._json("POST", "/graphs", files=files, data=data)
            with open(labels, "rb") as lh:
                files["labels"] = (Path(labels).name, lh, "application/octet-stream")
                return self._json("POST", "/graphs", files=files, data=data)

    def register_graph(self, rel_path, labels=None, **opts):
        """Add a graph from a file under the server's data directory (``rel_path`` relative to it)."""
        body = {"path": str(rel_path), **{k: v for k, v in opts.items() if v is not None}}
        if labels is not None:
            body["labels"] = str(labels)
        return self._json("POST", "/graphs/register", json=body)

    def graphs(self):
        return self._json("GET", "/graphs")

    def graph(self, graph):
        return self._json("GET", f"/graphs/{_id(graph, 'graph')}")

    def delete_graph(self, graph):
        self._json("DELETE", f"/graphs/{_id(graph, 'graph')}")

    # ------------------------------------------------------------------ jobs
    def submit(self, graph, task, method=None, params=None, index=False):
        """Submit a job on ``graph`` (id or record); the :class:`Job` (422 names a bad parameter)."""
        spec = {"graph": _id(graph, "graph"), "task": task, "method": method, "params": dict(params or {}),
                "index": bool(index)}
        return Job(self, self._json("POST", "/jobs", json=spec))

    def jobs(self, graph=None, state=None):
        params = {k: v for k, v in (("graph", graph and _id(graph, "graph")), ("state", state)) if v}
        return [Job(self, r) for r in self._json("GET", "/jobs", params=params)]

    def job(self, job):
        return Job(self, self._json("GET", f"/jobs/{_id(job, 'job')}"))

    def neighbors(self, job, ids, k=10, **options):
        """Nearest neighbours in an embedding job's index (built with ``index=True``): the answer
        of ``POST /embeddings/{id}/neighbors`` (``{"k", "metric", "results": [{"id", "neighbors"}]}``)."""
        body = {"ids": list(ids), "k": k, **{key: v for key, v in options.items() if v is not None}}
        return self._json("POST", f"/embeddings/{_id(job, 'job')}/neighbors", json=body)

    def embedding_map(self, job, method="pca"):
        return self._json("GET", f"/embeddings/{_id(job, 'job')}/map", params={"method": method})


__all__ = ["Client", "Job", "ServiceError"]

"""The service's core: catalog, jobs, results, tokens, behind one facade the HTTP layer calls.

::

    core = ServiceCore("ge-data")
    core.start()            # SQLite opened and migrated, DATA/tmp emptied, jobs recovered, supervisor started
    g = core.add_graph(upload, filename="edges.csv")
    job = core.submit({"graph": g["id"], "task": "embed", "method": "fastrp", "params": {"dim": 64}})
    core.close()

Every method returns JSON-ready dicts (GraphRecord, JobRecord) or raises a
:class:`graphembed.service.errors.ServiceError` with its HTTP status and one-line message.
"""
import json
import os
import secrets
import shutil
import threading
from pathlib import Path

from graphembed.service import jobs as jobspec
from graphembed.service.catalog import Catalog, parse_id
from graphembed.service.errors import BadRequest, Conflict, Invalid, NotFound, Refused, ServiceError
from graphembed.service.store import Store, job_record, now

DB_FILE = "graphembed.sqlite"
LOCK_FILE = "graphembed.lock"
TOKEN_FILE, READ_TOKEN_FILE = "token", "token.read"
TOKEN_ENV = "GRAPHEMBED_TOKEN"
MAX_ATTEMPTS = 3
MAP_METHODS = ("pca", "umap")
MAP_MAX_POINTS = 20_000
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "npz": "application/octet-stream",
               "json": "application/json"}


def machine_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 << 30


def _cores():
    from graphembed.base import default_threads

    return default_threads()


class ServiceCore:
    """The back end of ``graphembed serve --data-dir DATA``."""

    def __init__(self, data_dir, workers=None, threads_per_job=1, max_upload_bytes=1 << 30,
                 memory_budget_bytes=None):
        self.data_dir = Path(data_dir)
        self.threads_per_job = max(1, int(threads_per_job))
        self.workers = max(1, int(workers)) if workers else max(1, _cores() // self.threads_per_job)
        self.max_upload_bytes = int(max_upload_bytes)
        self.memory_budget_bytes = int(memory_budget_bytes) if memory_budget_bytes else int(0.8 * machine_memory())
        self.token_path = self.data_dir / TOKEN_FILE
        self.read_token_path = self.data_dir / READ_TOKEN_FILE
        self.tmp_dir = self.data_dir / "tmp"
        self.jobs_dir = self.data_dir / "jobs"
        self.store = None
        self.catalog = None
        self.supervisor = None
        self._lock = threading.RLock()
        self._lock_fd = None
        self._indexes = {}
        self._methods = None
        self._embedders = None

    # ------------------------------------------------------------------ life cycle
    @property
    def upload_dir(self):
        return self.tmp_dir

    def start(self):
        """Open SQLite and migrate, empty DATA/tmp, recover jobs, start the supervisor."""
        from graphembed.service.workers import Supervisor

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        for sub in ("graphs", "jobs"):
            (self.data_dir / sub).mkdir(exist_ok=True)
        if self.tmp_dir.exists():
            shutil.rmtree(self.tmp_dir)
        self.tmp_dir.mkdir()
        self._ensure_tokens()
        self.store = Store(self.data_dir / DB_FILE)
        self.catalog = Catalog(self.data_dir, self.store, self.max_upload_bytes)
        self.catalog.remove_orphans()
        self._recover()
        self.supervisor = Supervisor(self)
        self.supervisor.start()
        return self

    def close(self):
        """Stop the supervisor; running workers are terminated and their jobs go back to queued."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _take_lock(self):
        """One service per data directory: an exclusive flock on DATA/graphembed.lock (released
        by the kernel when the process dies, so a killed server never blocks its restart)."""
        import fcntl

        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ServiceError(f"another graphembed service is using {self.data_dir.name}", status=409) from None
        self._lock_fd = fd

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    def _recover(self):
        """Running jobs (the server died under them) go back to queued, or fail after
        MAX_ATTEMPTS interruptions; results of jobs not done are dropped (rerun); temporary
        files of atomic writes left in result directories are removed."""
        for row in self.store.job_rows(state="running"):
            attempts = int(row["attempts"]) + 1
            if attempts >= MAX_ATTEMPTS:
                self.store.update_job(row["id"], state="failed", attempts=attempts, finished=now(),
                                      error=f"interrupted {attempts} times")
            else:
                self.store.update_job(row["id"], state="queued", attempts=attempts, started=None, stage=None,
                                      fraction=None)
        done = {f"j{r['id']}" for r in self.store.job_rows(state="done")}
        for entry in self.jobs_dir.iterdir():
            if entry.name not in done:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                continue
            for leftover in entry.rglob(".*.tmp"):
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)

    # ------------------------------------------------------------------ tokens
    def _ensure_tokens(self):
        for path in ((self.read_token_path,) if os.environ.get(TOKEN_ENV) else (self.token_path, self.read_token_path)):
            if path.exists():
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
            os.chmod(path, 0o600)

    def tokens(self):
        """{"write": ..., "read": ...}; GRAPHEMBED_TOKEN, when set, is the write token."""
        if not self.read_token_path.exists() or not (os.environ.get(TOKEN_ENV) or self.token_path.exists()):
            self._ensure_tokens()
        write = os.environ.get(TOKEN_ENV) or self.token_path.read_text().strip()
        return {"write": write, "read": self.read_token_path.read_text().strip()}

    # ------------------------------------------------------------------ catalog
    def _need_started(self):
        if self.store is None:
            raise ServiceError("the service is not started", status=503)

    def add_graph(self, src_path, *, filename, name=None, directed=False, format=None, delimiter=None, header=None,
                  weighted=None, labels_path=None, **options):
        self._need_started()
        return self.catalog.add_graph(src_path, filename=filename, name=name, directed=directed, format=format,
                                      delimiter=delimiter, header=header, weighted=weighted,
                                      labels_path=labels_path, **options)

    def register_graph(self, rel_path, *, name=None, directed=False, format=None, delimiter=None, header=None,
                       weighted=None, labels_path=None, **options):
        self._need_started()
        return self.catalog.register_graph(rel_path, name=name, directed=directed, format=format,
                                           delimiter=delimiter, header=header, weighted=weighted,
                                           labels_path=labels_path, **options)

    def list_graphs(self):
        self._need_started()
        return self.catalog.list_graphs()

    def get_graph(self, gid):
        self._need_started()
        return self.catalog.get_graph(gid)

    def delete_graph(self, gid):
        self._need_started()
        self.catalog.delete_graph(gid)

    # ------------------------------------------------------------------ jobs
    def embedders(self):
        if self._embedders is None:
            from graphembed.registry import available_embedders

            self._embedders = available_embedders()
        return self._embedders

    def methods(self):
        """{"tasks": {task: {"methods", "params"}}, "embedders": {name: JSON Schema}}."""
        if self._methods is None:
            from graphembed.registry import get_embedder

            embedders = {}
            for name in self.embedders():
                try:
                    cls = get_embedder(name)
                    table = getattr(cls, "parameters", None) or {}
                except Exception:  # noqa: BLE001 - a broken plugin is left out, not fatal
                    continue
                embedders[name] = jobspec.schema_of(table, name)
            tasks = {}
            for task, (takes, table, _) in jobspec.TASKS.items():
                if task == "homs":
                    table = {**jobspec.HOM_SAMPLER, **table}
                tasks[task] = {"methods": list(embedders) if takes else None, "params": jobspec.schema_of(table, task)}
            self._methods = {"tasks": tasks, "embedders": embedders}
        return self._methods

    def submit(self, spec):
        """Validate ``spec``, estimate its memory, queue it; the JobRecord (state queued)."""
        self._need_started()
        if not isinstance(spec, dict):
            raise Invalid("the job must be a JSON object")
        graph = self.catalog.get_graph(spec.get("graph")) if isinstance(spec.get("graph"), str) else None
        if graph is None:
            raise Invalid(f"graph must be a graph id such as 'g1', got {str(spec.get('graph'))[:40]!r}", param="graph")
        job = jobspec.validate(spec, self.embedders())
        if job["task"] == "classify" and not graph["has_labels"]:
            raise Invalid(f"classify needs node labels: graph {graph['id']} was uploaded without them", param="graph")
        if job["task"] == "cluster" and job["task_params"].get("cluster_method", "kmeans") == "kmeans" \
                and job["task_params"].get("n_clusters") is None and not graph["has_labels"]:
            raise Invalid("k-means needs n_clusters (or the graph's labels to use their number of classes)",
                          param="n_clusters")
        table = jobspec.method_table(job["task"], job["method"])
        estimate = jobspec.estimate_memory(job["task"], job["method"], job["params"], graph["n_nodes"],
                                           graph["n_edges"], table)
        if estimate > self.memory_budget_bytes:
            from graphembed._limits import human_bytes

            raise Refused(f"job needs about {human_bytes(estimate)} ({estimate} bytes, estimated from "
                          f"{graph['n_nodes']} nodes, {graph['n_edges']} edges and its parameters), more than the "
                          f"service's memory budget of {human_bytes(self.memory_budget_bytes)}")
        record = {"graph_number": parse_id(graph["id"], "g"), "task": job["task"], "method": job["method"],
                  "params": job["params"], "index": job["index"], "created": now(), "memory_estimate_bytes": estimate}
        with self.store.transaction() as conn:
            if self.store.get_graph(record["graph_number"]) is None:  # deleted meanwhile
                raise NotFound(f"unknown graph {graph['id']!r}")
            number = self.store.insert_job(conn, record)
        self.supervisor.wake()
        return self.get_job(f"j{number}")

    def _row(self, jid):
        row = self.store.job_row(parse_id(jid, "j"))
        if row is None:
            raise NotFound(f"unknown job {jid!r}")
        return row

    def get_job(self, jid):
        self._need_started()
        return job_record(self._row(jid))

    def list_jobs(self, graph=None, state=None):
        self._need_started()
        number = None
        if graph is not None:
            number = parse_id(graph, "g")
        if state is not None and state not in ("queued", "running", "done", "failed", "cancelled"):
            raise BadRequest(f"state must be one of queued, running, done, failed, cancelled, got {str(state)[:40]!r}")
        return [job_record(r) for r in self.store.job_rows(number, state)]

    def cancel(self, jid, timeout=10.0):
        """queued: cancelled at once; running: the worker is terminated, then cancelled."""
        self._need_started()
        import time

        number = parse_id(jid, "j")
        sup = self.supervisor
        with sup.lock:
            row = self._row(jid)
            if row["state"] == "queued":
                self.store.update_job(number, state="cancelled", finished=now())
                return self.get_job(jid)
            if row["state"] in ("done", "failed"):
                raise Conflict(f"job {jid} is {row['state']}; only queued or running jobs can be cancelled")
            if row["state"] == "cancelled":
                return self.get_job(jid)
            sup.cancel_running(number)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and sup.is_running(number):
            time.sleep(0.02)
        return self.get_job(jid)

    # ------------------------------------------------------------------ results
    def job_dir(self, number):
        return self.jobs_dir / f"j{number}"

    def _done(self, jid):
        row = self._row(jid)
        if row["state"] != "done":
            raise Conflict(f"job {jid} is {row['state']}; results exist once it is done")
        return row, json.loads(row["results"] or "{}")

    def result_file(self, jid, format=None):
        """(path, media type) of a done job's result: an embedding as parquet (default) or npz
        (made from the parquet file on first request), a table as parquet, a summary as json."""
        self._need_started()
        row, results = self._done(jid)
        folder = self.job_dir(row["id"])
        if results.get("embedding"):
            kinds = {"parquet": "embedding.parquet", "npz": "embedding.npz"}
        elif results.get("table"):
            kinds = {"parquet": "table.parquet"}
            if results.get("summary"):
                kinds["json"] = "summary.json"
        else:
            kinds = {"json": "summary.json"}
        format = format or next(iter(kinds))
        if format not in kinds:
            raise BadRequest(f"job {jid}'s result comes as {' or '.join(kinds)}, not {str(format)[:40]!r}")
        path = folder / kinds[format]
        if format == "npz" and not path.exists():
            from graphembed.embedding import Embedding

            with self._lock:
                if not path.exists():
                    Embedding.load(folder / "embedding.parquet").save(path, "npz")
        return path, MEDIA_TYPES[format]

    def index(self, jid):
        """The job's :class:`~graphembed.index.EmbeddingIndex` (loaded once, then cached)."""
        self._need_started()
        row, results = self._done(jid)
        if not results.get("index"):
            raise Conflict(f"job {jid} built no index (submit it with \"index\": true)")
        with self._lock:
            found = self._indexes.get(row["id"])
            if found is None:
                from graphembed.index import EmbeddingIndex

                found = EmbeddingIndex.load(self.job_dir(row["id"]) / jobspec.RESULT_FILES["index"])
                self._indexes[row["id"]] = found
            return found

    def embedding_map(self, jid, method="pca"):
        """2-D coordinates of a done embedding job's vectors ({ids, x, y, method}), computed once
        with the library's reducer (:func:`graphembed.tasks.plot.reduce_2d`) and cached as JSON."""
        self._need_started()
        if method not in MAP_METHODS:
            raise BadRequest(f"method must be one of {', '.join(MAP_METHODS)}, got {str(method)[:40]!r}")
        row, results = self._done(jid)
        if not results.get("embedding"):
            raise Conflict(f"job {jid} has no embedding to map")
        path = self.job_dir(row["id"]) / f"map-{method}.json"
        if not path.exists():
            if method == "umap":
                import importlib.util

                if importlib.util.find_spec("umap") is None:
                    raise Conflict("the umap map needs umap-learn on the server: pip install umap-learn")
            import numpy as np

            from graphembed.embedding import Embedding
            from graphembed.tasks.plot import reduce_2d

            emb = Embedding.load(self.job_dir(row["id"]) / "embedding.parquet")
            rows = np.arange(len(emb))
            if len(emb) > MAP_MAX_POINTS:
                rows = np.sort(np.random.default_rng(0).choice(len(emb), MAP_MAX_POINTS, replace=False))
            xy, name = reduce_2d(emb.vectors[rows], method, seed=0)
            out = {"ids": emb.node_ids[rows].tolist(), "x": [float(v) for v in xy[:, 0]],
                   "y": [float(v) for v in xy[:, 1]], "method": method, "reducer": name}
            with self._lock:
                jobspec.write_json(out, path)
            return out
        return json.loads(path.read_text())

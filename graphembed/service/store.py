"""The service's records in SQLite (the standard library's ``sqlite3``, WAL mode): graphs and jobs.

One small schema with a version number: :data:`MIGRATIONS` are applied in order, each in its own
transaction, and ``schema_version`` records the last one applied. A database written by a newer
graphembed (a version above the last migration here) is refused, never changed.

Each thread gets its own connection; every write goes through one lock, so the supervisor
thread (job rows) and catalog calls (graph rows) never interleave half-done transactions.
"""
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

MIGRATIONS = (
    # 1: graphs and jobs
    """
    CREATE TABLE graphs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT, filename TEXT, directed INTEGER NOT NULL, weighted INTEGER NOT NULL,
        n_nodes INTEGER NOT NULL, n_edges INTEGER NOT NULL, has_labels INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL, info TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        graph INTEGER NOT NULL, task TEXT NOT NULL, method TEXT, params TEXT NOT NULL,
        want_index INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, stage TEXT, fraction REAL,
        error TEXT, attempts INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, started TEXT,
        finished TEXT, run_s REAL, results TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: the memory estimate of admission control; jobs looked up by state and graph
    """
    ALTER TABLE jobs ADD COLUMN memory_estimate INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_state ON jobs (state, id);
    CREATE INDEX jobs_graph ON jobs (graph);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


def now():
    """The time as ISO-8601 UTC, to the millisecond: ``2026-01-02T03:04:05.678Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_between(start, end):
    if not start or not end:
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return round((parse(end) - parse(start)).total_seconds(), 3)


class SchemaError(RuntimeError):
    """The database's schema is newer than this graphembed knows."""


class Store:
    """The SQLite database of one data directory."""

    def __init__(self, path):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._connections = []
        self._closed = False
        self.migrate()

    # ------------------------------------------------------------------ connections
    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("the store is closed")
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self):
        with self._lock:
            self._closed = True
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    def _write(self, sql, args=()):
        with self._lock:
            return self._conn().execute(sql, args)

    def transaction(self):
        """``with store.transaction() as conn:`` one write transaction under the write lock."""
        return _Transaction(self)

    # ------------------------------------------------------------------ schema
    def version(self):
        conn = self._conn()
        have = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
        if have is None:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self, upto=None):
        """Apply the migrations the database lacks, in order (up to ``upto``, for tests)."""
        upto = SCHEMA_VERSION if upto is None else upto
        with self._lock:
            conn = self._conn()
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
            current = self.version()
            if current > SCHEMA_VERSION:
                raise SchemaError(f"{self.path.name}: schema version {current} is newer than this graphembed "
                                  f"knows ({SCHEMA_VERSION}); upgrade graphembed")
            for version in range(current + 1, upto + 1):
                script = MIGRATIONS[version - 1]
                conn.execute("BEGIN IMMEDIATE")
                if self.version() >= version:  # another process applied it meanwhile
                    conn.execute("COMMIT")
                    continue
                try:
                    for statement in (s.strip() for s in script.split(";")):
                        if statement:
                            conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)", (version, now()))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    # ------------------------------------------------------------------ graphs
    def insert_graph(self, conn, record):
        cur = conn.execute(
            "INSERT INTO graphs (name, filename, directed, weighted, n_nodes, n_edges, has_labels, created, info) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record["name"], record["filename"], int(record["directed"]), int(record["weighted"]),
             int(record["n_nodes"]), int(record["n_edges"]), int(record["has_labels"]), record["created"],
             json.dumps(record["info"])))
        return int(cur.lastrowid)

    def get_graph(self, number):
        row = self._conn().execute("SELECT * FROM graphs WHERE id = ?", (number,)).fetchone()
        return None if row is None else _graph_record(row)

    def list_graphs(self):
        return [_graph_record(r) for r in self._conn().execute("SELECT * FROM graphs ORDER BY id")]

    def delete_graph(self, conn, number):
        conn.execute("DELETE FROM graphs WHERE id = ?", (number,))

    # ------------------------------------------------------------------ jobs
    def insert_job(self, conn, job):
        cur = conn.execute(
            "INSERT INTO jobs (graph, task, method, params, want_index, state, attempts, created, memory_estimate) "
            "VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
            (job["graph_number"], job["task"], job["method"], json.dumps(job["params"]), int(job["index"]),
             job["created"], int(job["memory_estimate_bytes"])))
        return int(cur.lastrowid)

    def update_job(self, number, **fields):
        if "results" in fields:
            fields["results"] = json.dumps(fields["results"])
        names = ", ".join(f"{k} = ?" for k in fields)
        self._write(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), number))

    def job_row(self, number):
        return self._conn().execute("SELECT * FROM jobs WHERE id = ?", (number,)).fetchone()

    def job_rows(self, graph=None, state=None):
        sql, args = "SELECT * FROM jobs", []
        where = []
        if graph is not None:
            where.append("graph = ?")
            args.append(graph)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._conn().execute(sql + " ORDER BY id", args).fetchall()

    def next_queued(self):
        return self._conn().execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()

    def count_active_jobs(self, graph):
        row = self._conn().execute("SELECT COUNT(*) FROM jobs WHERE graph = ? AND state IN ('queued', 'running')",
                                   (graph,)).fetchone()
        return int(row[0])


class _Transaction:
    def __init__(self, store):
        self.store = store

    def __enter__(self):
        self.store._lock.acquire()
        self.conn = self.store._conn()
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, exc, tb):
        try:
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.store._lock.release()
        return False


def _graph_record(row):
    return {"id": f"g{row['id']}", "name": row["name"], "filename": row["filename"],
            "directed": bool(row["directed"]), "weighted": bool(row["weighted"]),
            "n_nodes": int(row["n_nodes"]), "n_edges": int(row["n_edges"]),
            "has_labels": bool(row["has_labels"]), "created": row["created"], "info": json.loads(row["info"])}


def job_record(row):
    """The JSON-ready JobRecord of a jobs row."""
    created, started, finished = row["created"], row["started"], row["finished"]
    return {"id": f"j{row['id']}", "graph": f"g{row['graph']}", "task": row["task"], "method": row["method"],
            "params": json.loads(row["params"]), "index": bool(row["want_index"]), "state": row["state"],
            "progress": {"stage": row["stage"], "fraction": row["fraction"]}, "error": row["error"],
            "attempts": int(row["attempts"]), "created": created, "started": started, "finished": finished,
            "timings": {"queued_s": seconds_between(created, started), "run_s": row["run_s"]},
            "memory_estimate_bytes": int(row["memory_estimate"]), "results": json.loads(row["results"] or "{}")}

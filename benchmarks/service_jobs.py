"""The analytics service under load: 8 clients submit 200 mixed jobs while neighbour queries run.

One run prints one table with two rows: the plain run, and the same run with the server killed
(SIGKILL) and restarted once in the middle. Columns: jobs lost (accepted with 202 but never done),
5xx answers, wrong results (checked against the library run directly in this process: every embed
job's vectors and every orbits job's counts; the other tasks must end done with a downloadable
result equal to a second identical job's), submit-to-start latency p50/p99 (the job record's
``started - created``; "free worker": 20 jobs submitted one at a time onto an idle server, the
figure the target is about, p99 < 100 ms), neighbour-query p50/p99 while jobs run, wall time.

    python benchmarks/service_jobs.py                 # 200 jobs, 8 clients, 2 workers
    python benchmarks/service_jobs.py --jobs 40       # a quick look

Graphs: the bundled karate club (34 nodes), europe-airports (399, with its labels, for classify),
a generated 2,000-node graph, and BlogCatalog (10,312 nodes, 333,983 edges) from
../shared/datasets/raw, read in place.
"""
import concurrent.futures as cf
import datetime as dt
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _util import RAW, benchmark_parser, load_average, write_json

import graphembed as ge
from graphembed.datasets import karate_path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``graphembed serve --data-dir`` as a child process that can be killed and restarted."""

    def __init__(self, data_dir, workers):
        self.data_dir, self.workers, self.port, self.proc = Path(data_dir), workers, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.data_dir.parent / "server.log", "ab")

    def start(self):
        exe = Path(sys.executable).with_name("graphembed")
        self.proc = subprocess.Popen([str(exe), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
                                      "--workers", str(self.workers)], stdout=self.log, stderr=self.log)
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see {self.log.name}")
            time.sleep(0.1)
        raise SystemExit("the server did not answer /healthz within 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self):
        return (self.data_dir / "token").read_text().strip()


def stamp(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def generated_graph(path, n=2000, m=10, seed=0):
    rng = np.random.default_rng(seed)
    src = np.repeat(np.arange(n), m)
    dst = rng.integers(0, n, n * m)
    keep = src != dst
    np.savetxt(path, np.c_[src[keep], dst[keep]], fmt="%d", delimiter=",", header="source,target", comments="")
    return path


def job_mix(graphs, rng, n_jobs):
    """(graph key, task, method, params) for ``n_jobs`` jobs: mostly small, a few BlogCatalog ones."""
    small = ["karate", "europe", "gen2k"]
    kinds = [
        (6, lambda g: ("embed", "fastrp", {"dim": 32, "random_state": int(rng.integers(1 << 20))})),
        (2, lambda g: ("embed", "deepwalk", {"dim": 16, "walks_per_node": 2, "walk_length": 10, "epochs": 1,
                                             "random_state": int(rng.integers(1 << 20))})),
        (3, lambda g: ("orbits", None, {})),
        (1, lambda g: ("graphlets", None, {})),
        (1, lambda g: ("linkpred-evaluate", "fastrp", {"dim": 32, "seed": 1})),
        (1, lambda g: ("cluster", "fastrp", {"dim": 32, "n_clusters": 4, "seed": 2})),
    ]
    weights = np.array([w for w, _ in kinds], float)
    out = []
    for i in range(n_jobs):
        if i % 25 == 12 and "blogcatalog" in graphs:
            out.append(("blogcatalog", "embed", "fastrp", {"dim": 64, "random_state": i}))
            continue
        if i % 20 == 7:
            out.append(("europe", "classify", "fastrp", {"dim": 32, "seed": 3}))
            continue
        g = small[int(rng.integers(len(small)))]
        task, method, params = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))][1](g)
        out.append((g, task, method, params))
    return out


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.server_errors = 0
        self.unanswered = 0       # a request that got no answer (the server was being killed)
        self.neighbor_ms = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def call(tally, fn, *args, retries=60, **kw):
    """``fn(*args)``, counting 5xx; connection failures (the server down for a restart) retried."""
    import httpx

    from graphembed.service.client import ServiceError

    for _ in range(retries):
        try:
            return fn(*args, **kw)
        except ServiceError as exc:
            if exc.status is None:  # no answer: the client's "cannot reach" while the server restarts
                tally.add(unanswered=1)
                time.sleep(0.5)
                continue
            if exc.status >= 500:
                tally.add(server_errors=1)
            raise
        except (httpx.TransportError, OSError):
            tally.add(unanswered=1)
            time.sleep(0.5)
    raise RuntimeError("the server stayed unreachable")


def run_load(server, client_count, specs, gids, index_job, kill_at=None):
    """Submit ``specs`` from ``client_count`` threads while two threads query neighbours; with
    ``kill_at``, SIGKILL and restart the server after that many accepted submissions."""
    tally, accepted, lock = Tally(), [], threading.Lock()
    stop = threading.Event()
    token = server.token()

    def submitter(chunk):
        c = ge.Client(server.url, token=token)
        for key, task, method, params in chunk:
            job = call(tally, c.submit, gids[key], task, method=method, params=params)
            with lock:
                accepted.append((job.id, key, task, method))
                n = len(accepted)
            if kill_at is not None and n == kill_at:
                server.kill()
                server.start()

    def querier(seed):
        c, rng = ge.Client(server.url, token=token), random.Random(seed)
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                call(tally, c.neighbors, index_job, ids=[str(rng.randrange(34))], k=10)
            except Exception:  # noqa: BLE001 - counted by call(); keep querying
                continue
            with tally.lock:
                tally.neighbor_ms.append(1000 * (time.perf_counter() - t0))
            time.sleep(0.02)

    t0 = time.perf_counter()
    queriers = [threading.Thread(target=querier, args=(i,), daemon=True) for i in range(2)]
    for q in queriers:
        q.start()
    chunks = [specs[i::client_count] for i in range(client_count)]
    with cf.ThreadPoolExecutor(client_count) as pool:
        list(pool.map(submitter, chunks))
    c = ge.Client(server.url, token=token)
    records = {}
    for jid, *_ in accepted:
        job = call(tally, c.job, jid)
        call(tally, job.wait, timeout=3600, progress=False)
        records[jid] = job
    stop.set()
    for q in queriers:
        q.join()
    return tally, accepted, records, time.perf_counter() - t0


class Oracle:
    """The library run directly, for the job's recorded parameters (seed included)."""

    def __init__(self, paths):
        self.graphs = {k: ge.read_graph(p, **opts) for k, (p, opts) in paths.items()}
        self.cache = {}

    def check(self, key, job):
        import graphembed.structure.orbits as orb
        from graphembed.registry import get_embedder

        task, method = job.record["task"], job.record["method"]
        result = job.result()
        params = dict(job.record["params"])
        if task == "embed":
            cls = get_embedder(method)
            est = cls(**{k: v for k, v in params.items() if k in cls.parameters}, n_jobs=1)
            want = est.fit_transform(self.graphs[key])
            return (list(map(str, result.node_ids.tolist())) == list(map(str, want.node_ids.tolist()))
                    and np.array_equal(result.vectors, want.vectors))
        if task == "orbits":
            counts = orb.orbit_counts(self.graphs[key])
            names = [c for c in result.column_names if c != "node"]  # a pyarrow Table without pandas
            got = np.column_stack([result.column(c).to_numpy() for c in names]) if hasattr(result, "column_names") \
                else result[names].to_numpy()
            return np.array_equal(got.astype(np.int64), counts)
        return None  # compared with a repeat of the same job instead


def free_worker_latency(server, gid, n=20):
    c = ge.Client(server.url, token=server.token())
    lat = []
    for i in range(n):
        job = c.submit(gid, "embed", method="fastrp", params={"dim": 16, "random_state": i})
        job.wait(timeout=120, progress=False)
        lat.append(1000 * (stamp(job.record["started"]) - stamp(job.record["created"])))
    return lat


def one_run(label, paths, n_jobs, clients, workers, restart, oracle):
    with tempfile.TemporaryDirectory(prefix="ge-service-bench-") as tmp:
        server = Server(Path(tmp) / "data", workers)
        (Path(tmp) / "data").mkdir()
        server.start()
        try:
            c = ge.Client(server.url, token=server.token())
            gids = {}
            for key, (path, opts) in paths.items():
                labels = opts.pop("_labels", None)
                gids[key] = c.upload_graph(path, labels=labels, **opts)["id"]
                if labels:
                    opts["_labels"] = labels
            index_job = c.submit(gids["karate"], "embed", method="fastrp", params={"dim": 16, "random_state": 0},
                                 index=True).wait(timeout=300, progress=False)
            idle = free_worker_latency(server, gids["karate"])
            specs = job_mix(gids, np.random.default_rng(0), n_jobs)
            tally, accepted, records, wall = run_load(server, clients, specs, gids, index_job,
                                                      kill_at=n_jobs // 2 if restart else None)
            lost = sum(1 for jid, *_ in accepted if records[jid].state != "done")
            wrong, checked, repeats = 0, 0, {}
            for jid, key, task, method in accepted:
                job = records[jid]
                if job.state != "done":
                    continue
                ok = oracle.check(key, job)
                if ok is None:
                    res = job.result()
                    sig = (key, task, method, repr(sorted(job.record["params"].items())))
                    text = repr(res.to_pydict()) if hasattr(res, "to_pydict") else res.to_json() \
                        if hasattr(res, "to_json") else repr(
                        {k: v for k, v in res.items() if "time" not in k and not k.endswith("_s")})
                    if sig in repeats:
                        ok = repeats[sig] == text
                    else:
                        repeats[sig] = text
                        continue
                checked += 1
                wrong += not ok
            starts = [1000 * (stamp(r.record["started"]) - stamp(r.record["created"]))
                      for r in records.values() if r.record.get("started")]
            states = {}
            for r in records.values():
                states[r.state] = states.get(r.state, 0) + 1
            return {"run": label, "jobs": len(accepted), "states": states, "lost": lost,
                    "5xx": tally.server_errors, "unanswered (retried)": tally.unanswered,
                    "wrong": wrong, "checked": checked,
                    "start p50 ms (free worker)": statistics.median(idle), "start p99 ms (free worker)": pct(idle, 99),
                    "start p50 ms (under load)": pct(starts, 50), "start p99 ms (under load)": pct(starts, 99),
                    "neighbours p50 ms": pct(tally.neighbor_ms, 50), "neighbours p99 ms": pct(tally.neighbor_ms, 99),
                    "neighbour queries": len(tally.neighbor_ms), "wall s": wall}
        finally:
            server.stop()


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-blogcatalog", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ge-service-graphs-") as tmp:
        paths = {"karate": (karate_path(), {}),
                 "europe": (RAW / "europe-airports.edgelist", {"_labels": RAW / "labels-europe-airports.txt"}),
                 "gen2k": (generated_graph(Path(tmp) / "gen2k.csv"), {})}
        if not args.no_blogcatalog and (RAW / "blogcatalog.mat").exists():
            paths["blogcatalog"] = (RAW / "blogcatalog.mat", {})
        oracle = Oracle({k: (p, {kk: vv for kk, vv in o.items() if not kk.startswith("_")})
                         for k, (p, o) in paths.items()})
        rows = [one_run(label, paths, args.jobs, args.clients, args.workers, restart, oracle)
                for label, restart in (("plain", False), ("killed + restarted once", True))]
    cols = list(rows[0])
    print(f"# service_jobs: {args.jobs} jobs, {args.clients} clients, {args.workers} workers; "
          f"load {load_average()}; cores {os.cpu_count()}")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    write_json(args.json_out, {"rows": rows})


if __name__ == "__main__":
    main()

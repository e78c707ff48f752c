"""Service benchmark: latency p50/p99 and requests/s of POST /neighbors (k = 10) on loopback.

    python benchmarks/service.py [--clients 8] [--client auto|wrk|httpx] [--index HNSW32]

Builds a FastRP (dim 128) index of BlogCatalog, starts ``graphembed serve`` (uvicorn, one
process) on a free 127.0.0.1 port, and runs ``--clients`` concurrent keep-alive httpx clients,
each sending its share of one-node /neighbors requests. Target: p99 under 20 ms.
"""
import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BLOG = ROOT.parent / "shared" / "datasets" / "raw" / "blogcatalog.mat"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_load(url, ids, clients, total, k):
    import httpx

    per = total // clients
    latencies, errors = [], []
    lock = threading.Lock()

    def client(c):
        mine, bad = [], 0
        with httpx.Client(base_url=url, timeout=30) as http:
            for i in range(per):
                body = {"ids": [ids[(c * per + i) % len(ids)]], "k": k}
                t0 = time.perf_counter()
                r = http.post("/neighbors", json=body)
                mine.append(time.perf_counter() - t0)
                bad += r.status_code != 200
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {"requests": len(lat), "errors": sum(errors), "rps": len(lat) / wall,
            "p50": np.percentile(lat, 50), "p90": np.percentile(lat, 90), "p99": np.percentile(lat, 99),
            "max": lat.max()}


WRK_SCRIPT = """
ids = {%s}
k = %d
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, "/neighbors", nil, '{"ids": [' .. ids[(counter %% #ids) + 1] .. '], "k": ' .. k .. '}')
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%f %%f %%f %%f %%f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


def run_wrk(url, ids, clients, seconds, k, tmp):
    """The same load from wrk (C, 2 threads, ``clients`` keep-alive connections): the load
    generator then costs far less CPU than the server, unlike Python clients on the same cores."""
    script = Path(tmp) / "neighbors.lua"
    script.write_text(WRK_SCRIPT % (", ".join(json.dumps(json.dumps(v)) if isinstance(v, str) else str(v)
                                             for v in ids), k))
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    n, errors, duration, p50, p90, p99, top = line.split()[1:]
    return {"requests": int(n), "errors": int(errors), "rps": int(n) / float(duration), "p50": float(p50),
            "p90": float(p90), "p99": float(p99), "max": float(top)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--index", default="HNSW32")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto",
                    help="load generator: wrk (apt-get install wrk) or Python httpx threads; auto: wrk if found")
    ap.add_argument("--seconds", type=int, default=10, help="wrk run length")
    args = ap.parse_args()
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    import httpx

    import graphembed as ge
    from graphembed.index import build_and_save

    graph = ge.read_graph(str(BLOG))
    emb = ge.FastRP(dim=128, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628,
                    random_state=0).fit_transform(graph)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for factory in dict.fromkeys([args.index, "Flat"]):
            path = Path(tmp) / f"{factory}.index"
            build_and_save(emb, path, index=factory, metric="cosine")
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-m", "graphembed.cli.serve", str(path),
                                     "--port", str(port)], stderr=subprocess.PIPE)
            url = f"http://127.0.0.1:{port}"
            try:
                for _ in range(300):
                    try:
                        if httpx.get(url + "/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                ids = emb.node_ids[np.random.default_rng(0).permutation(len(emb))].tolist()
                run_load(url, ids, args.clients, 400, args.k)  # warm up
                if client == "wrk":
                    res = run_wrk(url, ids, args.clients, args.seconds, args.k, tmp)
                else:
                    res = run_load(url, ids, args.clients, args.requests, args.k)
            finally:
                proc.terminate()
                proc.wait(10)
            rows.append((factory, res))
    print(f"BlogCatalog FastRP ({len(emb):,} x 128), POST /neighbors with one id, k = {args.k}, "
          f"{args.clients} concurrent keep-alive clients ("
          + (f"wrk, 2 threads, {args.seconds} s" if client == "wrk" else f"Python httpx threads, {args.requests:,} requests")
          + "), one uvicorn process, load generator and server on the same 2-core machine\n")
    print("| index | requests | errors | requests/s | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for factory, r in rows:
        print(f"| {factory} | {r['requests']:,} | {r['errors']} | {r['rps']:,.0f} | {r['p50']:.1f} | "
              f"{r['p90']:.1f} | {r['p99']:.1f} | {r['max']:.1f} |")


if __name__ == "__main__":
    main()

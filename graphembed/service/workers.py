"""Job execution: one worker process per running job, started by a supervisor thread.

The supervisor (one thread in the server process) starts queued jobs in order (FIFO) while fewer
than ``workers`` run and the head job's memory estimate fits the free budget; it receives each
worker's progress (the ``progress_listener`` hook of :func:`graphembed.base.progress`) and its
result over a pipe, and is the only writer of running jobs' rows. A worker writes its results
into a fresh directory under ``DATA/tmp``; the supervisor renames it to ``DATA/jobs/<jid>`` and
only then records the job done. A worker that dies (a signal: the out-of-memory killer, a crash
in a kernel) fails its own job only: ``worker died: signal 9``.

Workers come from the ``forkserver`` context (a clean process forks them: no threads or locks of
the server are inherited); each asks the kernel to kill it when its parent goes, so a killed
server leaves no orphans writing into the data directory.
"""
import multiprocessing
import os
import secrets
import shutil
import threading
import time
from multiprocessing.connection import wait

PROGRESS_INTERVAL = 0.2  # seconds between two progress messages of one worker
# Imported once by the fork server, so that each worker starts with them loaded (none of them
# starts threads at import; numba's thread pool starts at the first parallel kernel, in the worker).
PRELOAD = ["graphembed.service.workers", "numpy", "scipy.sparse", "pyarrow.parquet", "numba",
           "graphembed.service.jobs", "graphembed.service.catalog", "graphembed.embedding", "graphembed.base"]
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TEST_DELAY_ENV = "GRAPHEMBED_SERVICE_TEST_DELAY"  # tests only: "SECONDS" or "SECONDS:TASK"


def _start_fork_server(threads):
    """Start the fork server (if it is not running yet) with BLAS and OpenMP limited to the
    threads of one job, so that the libraries it preloads start with those limits."""
    from multiprocessing import forkserver

    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update({name: str(threads) for name in THREAD_ENV})
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _die_with_parent():
    """PR_SET_PDEATHSIG(SIGKILL) on Linux: this process is killed when its parent exits."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def worker_main(conn, job, graph_path, labels_path, out, threads, delay):
    """The body of a worker process: run ``job``, send ("done", results) or ("failed", message)."""
    _die_with_parent()
    if any(os.environ.get(name) != str(threads) for name in THREAD_ENV):
        # a fork server started with other limits loaded numpy's BLAS with them: limit it now
        for name in THREAD_ENV:
            os.environ[name] = str(threads)
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(threads)
        except Exception:  # noqa: BLE001 - threadpoolctl is scikit-learn's; without it BLAS keeps its threads
            pass
    lock = threading.Lock()
    last = {"t": 0.0, "stage": None}

    def send(message):
        with lock:
            conn.send(message)

    def listener(stage, n, total):
        now = time.monotonic()
        finished = total is not None and n >= total
        if stage != last["stage"] or finished or now - last["t"] >= PROGRESS_INTERVAL:
            last.update(t=now, stage=stage)
            fraction = min(1.0, n / total) if total else None
            try:
                send(("progress", stage, fraction))
            except (OSError, ValueError):
                pass

    try:
        if delay:
            end = time.monotonic() + delay
            while time.monotonic() < end:
                listener("test delay", 0, None)
                time.sleep(0.05)
        from graphembed.base import progress_listener
        from graphembed.service import jobs

        with progress_listener(listener):
            results = jobs.run(job, graph_path, labels_path, out, threads)
        send(("done", results))
    except BaseException as exc:  # noqa: BLE001 - every failure is one line for the job record
        send(("failed", describe_failure(exc)))
    finally:
        conn.close()


def describe_failure(exc):
    """One line for a job's ``error``, as the CLI words its failures."""
    from graphembed.io.errors import InputError

    text = " ".join(str(exc).split())[:400]
    if isinstance(exc, InputError):
        return text
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, ImportError):
        return text if "pip install" in text else f"this job needs the optional package {exc.name or text}"
    if isinstance(exc, OSError):
        return exc.strerror or text
    return f"internal error: {type(exc).__name__}: {text}"


class _Running:
    def __init__(self, number, process, conn, estimate, out):
        self.number, self.process, self.conn, self.estimate, self.out = number, process, conn, estimate, out
        self.final = None  # ("done", results) or ("failed", message)
        self.cancel = False
        self.t0 = time.monotonic()


class Supervisor:
    """Starts queued jobs, watches their workers, records their ends."""

    def __init__(self, core):
        self.core = core
        self.store = core.store
        self.running = {}
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._thread = None
        self._ctx = _context()
        _start_fork_server(core.threads_per_job)
        self._delay = _parse_delay(os.environ.get(TEST_DELAY_ENV))

    # ------------------------------------------------------------------ control
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="graphembed-supervisor", daemon=True)
        self._thread.start()

    def wake(self):
        with self._wake_lock:
            try:
                self._wake_w.send(None)
            except (OSError, ValueError):
                pass

    def stop(self):
        """Stop starting jobs; terminate the running workers, whose jobs go back to queued."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(30)
        with self.lock:
            for r in list(self.running.values()):
                _end_process(r.process)
                if r.cancel:
                    self.store.update_job(r.number, state="cancelled", finished=_now())
                else:
                    self.store.update_job(r.number, state="queued", started=None, stage=None, fraction=None)
                shutil.rmtree(r.out, ignore_errors=True)
                r.conn.close()
            self.running.clear()
        for c in (self._wake_r, self._wake_w):
            c.close()

    def cancel_running(self, number):
        """Terminate the worker of a running job; the loop records it cancelled. False if it
        is not running."""
        with self.lock:
            r = self.running.get(number)
            if r is None:
                return False
            r.cancel = True
            if r.final is None:
                r.process.terminate()
        self.wake()
        return True

    def is_running(self, number):
        with self.lock:
            return number in self.running

    # ------------------------------------------------------------------ the loop
    def _loop(self):
        while not self._stop.is_set():
            try:
                self._start_queued()
                with self.lock:
                    waitables = [self._wake_r]
                    for r in self.running.values():
                        waitables += [r.conn, r.process.sentinel]
                wait(waitables, timeout=1.0)
                while self._wake_r.poll():
                    self._wake_r.recv()
                with self.lock:
                    for r in list(self.running.values()):
                        self._poll(r)
            except (OSError, EOFError):
                if self._stop.is_set():
                    return
                time.sleep(0.05)
            except Exception:  # noqa: BLE001 - the supervisor never dies of one job
                import traceback

                traceback.print_exc()
                time.sleep(0.5)

    def _start_queued(self):
        with self.lock:
            while len(self.running) < self.core.workers and not self._stop.is_set():
                row = self.store.next_queued()
                if row is None:
                    return
                used = sum(r.estimate for r in self.running.values())
                if self.running and row["memory_estimate"] > self.core.memory_budget_bytes - used:
                    return  # waits, in order, until enough running jobs end
                self._launch(row)

    def _launch(self, row):
        from graphembed.service.jobs import split_params

        core = self.core
        number = row["id"]
        params = __import__("json").loads(row["params"])
        est, task_params = split_params(row["task"], row["method"], params)
        job = {"id": f"j{number}", "task": row["task"], "method": row["method"], "index": bool(row["want_index"]),
               "params": params, "estimator_params": est, "task_params": task_params}
        out = core.tmp_dir / f"job-j{number}-{secrets.token_hex(4)}"
        graph_path = core.catalog.graph_path(row["graph"])
        labels_path = core.catalog.labels_path(row["graph"])
        delay = self._delay[0] if self._delay and self._delay[1] in (None, row["task"]) else 0
        parent, child = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=worker_main, name=f"graphembed-job-j{number}", daemon=True,
            args=(child, job, str(graph_path), None if labels_path is None else str(labels_path), str(out),
                  core.threads_per_job, delay))
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001
            parent.close()
            self.store.update_job(number, state="failed", finished=_now(), error=f"could not start a worker: {exc}")
            return
        finally:
            child.close()
        self.running[number] = _Running(number, process, parent, int(row["memory_estimate"]), out)
        self.store.update_job(number, state="running", started=_now(), stage=None, fraction=0.0, error=None)

    def _poll(self, r):
        try:
            while r.final is None and r.conn.poll():
                message = r.conn.recv()
                if message[0] == "progress":
                    if not r.cancel:
                        self.store.update_job(r.number, stage=message[1], fraction=message[2])
                else:
                    r.final = message
        except (EOFError, OSError):
            pass
        if r.final is None and r.process.is_alive():
            return
        if r.final is not None:
            r.process.join(5)
        _end_process(r.process)
        self._finish(r)

    def _finish(self, r):
        del self.running[r.number]
        r.conn.close()
        run_s = round(time.monotonic() - r.t0, 3)
        kind = r.final[0] if r.final else None
        try:
            if kind == "done":
                target = self.core.job_dir(r.number)
                if target.exists():
                    shutil.rmtree(target)  # a rerun's leftover: never recorded done
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(r.out, target)
                self.store.update_job(r.number, state="done", finished=_now(), run_s=run_s, results=r.final[1],
                                      fraction=1.0)
            elif r.cancel:
                self.store.update_job(r.number, state="cancelled", finished=_now(), run_s=run_s)
            elif kind == "failed":
                self.store.update_job(r.number, state="failed", finished=_now(), run_s=run_s, error=r.final[1])
            else:
                code = r.process.exitcode
                error = (f"worker died: signal {-code}" if code is not None and code < 0
                         else f"worker exited with code {code} without a result")
                self.store.update_job(r.number, state="failed", finished=_now(), run_s=run_s, error=error)
        finally:
            shutil.rmtree(r.out, ignore_errors=True)
        self.wake()


def _end_process(process):
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)
    else:
        process.join(0.1)


def _parse_delay(text):
    if not text:
        return None
    seconds, _, task = text.partition(":")
    return float(seconds), task or None


def _now():
    from graphembed.service.store import now

    return now()


__all__ = ["Supervisor", "worker_main"]

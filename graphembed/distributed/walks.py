"""node2vec / DeepWalk walks on Dask: identical to the local walks, written as text shards.

The walk kernel (:func:`graphembed._kernels.walks.random_walks`) seeds walk ``w`` from the
counter-based stream ``(seed, w)`` and starts it at node ``w % n``, so any contiguous range of walk
indices can be generated anywhere. Round ``r`` (of ``walks_per_node``) over the start-node range
``lo:hi`` is the walk range ``r n + lo .. r n + hi - 1``: one task, run by the very same kernel
with ``walk_offset = r n + lo``, so its walks are those of the local run, value for value.

The graph (the walk kernel's arrays: CSR, alias tables, row weights, built by
:meth:`Node2Vec._sampler`) goes once to each worker: a local graph is scattered with
``broadcast=True``; a :class:`~graphembed.distributed.graph.PartitionedGraph` is assembled from its
row blocks in one task on a worker (the driver never holds its CSR) and Dask copies that result
once to each worker that runs walks. Every walk task needs the whole graph: one that does not fit
a worker's memory is refused with the memory it needs.

Task ``k = r * n_ranges + b`` writes the shard ``part-{k:05d}.txt`` (one walk per line, tokens
separated by one space, as ``graphembed walks`` writes them), so the shards in name order are the
local run's walks in the local order (round by round, start nodes in index order): concatenated,
they are byte for byte the local ``walks`` file. The workers write the shards into a directory
that the driver must see too (a local cluster, or a shared file system).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graphembed._limits import human_bytes
from graphembed.io.errors import InputError

SHARD = "part-{:05d}.txt"
#: Start nodes per walk task (a round over this many nodes is one shard).
RANGE_NODES = 1 << 17


# ---------------------------------------------------------------------------- worker tasks
def _assemble_csr(blocks):
    """(indptr, indices, weights or None) of the whole graph from its CSR row blocks, in a task."""
    sizes = [int(b[0][-1]) for b in blocks]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    indptr = np.concatenate([np.zeros(1, np.int64)] + [b[0][1:] + s for b, s in zip(blocks, starts[:-1])])
    indices = np.concatenate([b[1] for b in blocks]) if blocks else np.empty(0, np.int32)
    weights = np.concatenate([b[2] for b in blocks]) if blocks and blocks[0][2] is not None else None
    return indptr.astype(np.int64), indices, weights


def _assemble_sampler(spec, node_count, directed, *blocks):
    """The walk kernel's arrays of a PartitionedGraph, built on a worker from its row blocks."""
    from graphembed.graph import Graph

    indptr, indices, weights = _assemble_csr(blocks)
    graph = Graph(indptr, indices, weights, np.arange(node_count, dtype=np.int64), directed)
    return spec._sampler(graph)


def _walk_shard(sampler, seed, start, count, length, table, path, n_nodes, visits):
    """Walks ``start .. start + count - 1`` into the text shard ``path`` (``table``: the token of
    each node); returns the int64 visit counts per node when ``visits``, else the walk count."""
    from graphembed._kernels.walks import count_visits, format_walks
    from graphembed.base import numba_threads
    from graphembed.distributed.fastrp import _worker_threads
    from graphembed.embed.node2vec import CHUNK_WALKS, Node2Vec

    with numba_threads(_worker_threads()) as threads, open(path, "wb") as f:
        partial = np.zeros((max(1, threads), n_nodes), np.int64) if visits else None
        for lo in range(start, start + count, CHUNK_WALKS):
            chunk = Node2Vec._walk_chunk(sampler, seed, lo, min(CHUNK_WALKS, start + count - lo), length)
            if visits:
                count_visits(chunk, n_nodes, partial)
            f.write(format_walks(chunk, table).data)
            del chunk
    return partial.sum(axis=0) if visits else count


def _walk_array(sampler, seed, start, count, length):
    from graphembed.base import numba_threads
    from graphembed.distributed.fastrp import _worker_threads
    from graphembed.embed.node2vec import Node2Vec

    with numba_threads(_worker_threads()):
        return Node2Vec._walk_chunk(sampler, seed, start, count, length)


def _add(*parts):
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


# ---------------------------------------------------------------------------- driver
def _spec(est):
    """A copy of ``est`` with its parameters alone (what travels to the workers)."""
    return type(est)(**est.get_params())


def _sampler_bytes(n_nodes, nnz, weighted):
    # indptr, indices, alive; weighted: weights, alias prob and index, row weights
    return 8 * (n_nodes + 1) + 4 * nnz + n_nodes + ((4 + 4 + 4) * nnz + 8 * n_nodes if weighted else 0)


def share_graph(est, graph, client, what="the walks"):
    """A future of the walk kernel's arrays (``est._sampler``) on every worker that runs walks.

    ``graph``: a local Graph (the arrays are built here and scattered with ``broadcast=True``) or a
    PartitionedGraph (built from its blocks in a task on a worker). InputError when the graph does
    not fit a worker's memory."""
    from graphembed.distributed.fastrp import worker_memory

    partitioned = getattr(graph, "_graphembed_partitioned", False)
    weighted = graph.is_weighted if partitioned else graph.weights is not None
    need = _sampler_bytes(graph.n_nodes, graph.nnz, weighted)
    limit = worker_memory(client)
    if limit is not None and 2 * need > limit:  # the arrays and the task's own buffers
        raise InputError(f"{what} need the whole graph ({graph.n_nodes} nodes, {graph.nnz} stored edges) on each "
                         f"worker: about {human_bytes(2 * need)} of memory; a worker has {human_bytes(limit)}; "
                         "use workers with more memory")
    spec = _spec(est)
    if partitioned:
        return client.submit(_assemble_sampler, spec, graph.n_nodes, graph.directed, *graph.blocks, pure=False)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
        return client.scatter([spec._sampler(graph)], broadcast=True, hash=False)[0]


def walk_tasks(n_nodes, walks_per_node, client):
    """[(shard number, first walk, walk count)]: round r over the start-node range b is shard
    ``r * n_ranges + b``, the walks ``r n + lo .. r n + hi - 1``."""
    from graphembed.distributed.graph import block_offsets

    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    rounds = int(walks_per_node)
    n_ranges = max(-(-n_nodes // RANGE_NODES), -(-2 * workers // max(rounds, 1)), 1)
    offsets = block_offsets(n_nodes, n_ranges)
    tasks = []
    for r in range(rounds):
        for b in range(offsets.shape[0] - 1):
            lo, hi = int(offsets[b]), int(offsets[b + 1])
            tasks.append((len(tasks), r * n_nodes + lo, hi - lo))
    return tasks


def _check_seen(directory, count):
    missing = [k for k in range(count) if not (Path(directory) / SHARD.format(k)).is_file()]
    if missing:
        raise InputError(f"{directory}: the workers wrote walk shard {missing[0]} where this machine does not see "
                         "it; write to a file system that the driver and the workers share")


def write_shards(est, graph, client, directory, seed, tokens, visits=False):
    """Write the walks of ``est`` (validated, seed given) on ``graph`` as shards into ``directory``
    (an existing directory the workers can write to). ``tokens``: "ids" (the original node ids,
    as ``graphembed walks`` writes) or "index" (node indices, the skip-gram's corpus).

    Returns (number of shards, total walks, int64 visit counts per node or None)."""
    from graphembed._kernels.walks import index_tokens, token_table

    n = graph.n_nodes
    sampler = share_graph(est, graph, client)
    table = index_tokens(n) if tokens == "index" else token_table([str(v) for v in graph.node_ids.tolist()])
    table_f = client.scatter([table], broadcast=True, hash=False)[0]
    tasks = walk_tasks(n, est.walks_per_node, client)
    length = int(est.walk_length)
    futures = [client.submit(_walk_shard, sampler, seed, start, count, length, table_f,
                             os.path.join(os.fspath(directory), SHARD.format(k)), n, visits, pure=False)
               for k, start, count in tasks]
    counts = None
    if visits:
        while len(futures) > 1:  # a tree of sums on the cluster: the driver gets one count array
            futures = [client.submit(_add, *futures[i:i + 8], pure=False) for i in range(0, len(futures), 8)]
        counts = futures[0].result()
    else:
        client.gather(futures)
    del futures, sampler, table_f
    _check_seen(directory, len(tasks))
    return len(tasks), n * int(est.walks_per_node), counts


def concatenate(directory, count, target):
    """Append the shards ``0 .. count - 1`` of ``directory`` in order to the open binary file ``target``."""
    import shutil

    for k in range(count):
        with open(os.path.join(os.fspath(directory), SHARD.format(k)), "rb") as f:
            shutil.copyfileobj(f, target, 1 << 22)


def walks_distributed(est, graph, scheduler):
    """:meth:`Node2Vec.walks` on the cluster: the int32 walk array, gathered here, identical to
    the local one."""
    from graphembed.base import check_seed
    from graphembed.distributed.scheduler import client_for
    from graphembed.graph import Graph

    if not getattr(graph, "_graphembed_partitioned", False):
        graph = Graph.coerce(graph)
    with client_for(scheduler if scheduler is not None else graph.client) as client:
        _check_graph(graph, client)
        est._validate_walks(graph)
        est._check_walk_memory(graph)
        seed = check_seed(est.random_state)
        sampler = share_graph(est, graph, client)
        futures = [client.submit(_walk_array, sampler, seed, start, count, int(est.walk_length), pure=False)
                   for _, start, count in walk_tasks(graph.n_nodes, est.walks_per_node, client)]
        parts = client.gather(futures)
    return np.concatenate(parts) if parts else np.empty((0, int(est.walk_length)), np.int32)


def _check_graph(graph, client):
    if getattr(graph, "_graphembed_partitioned", False):
        from graphembed.distributed.graph import coerce

        coerce(graph, client)  # the same cluster


def fit_distributed(est, graph, scheduler):
    """:meth:`Node2Vec.fit` with ``scheduler``: the walks generated on the cluster as index-token
    shards, then skip-gram trained HERE with gensim's ``corpus_file`` (gensim has no distributed
    mode) on the shards concatenated in order, which is the local file route's corpus byte for
    byte. The walks are identical to the local run's; the vectors equal the local run's when
    gensim runs one worker (``n_jobs=1``) and the local run takes the file route too (walks over
    ``ITERABLE_MAX_BYTES``, or ``_corpus_route = "file"``): the same corpus file, the same
    vocabulary counts, the same learning-rate schedule and seed. The local iterable route (small
    graphs) trains through another gensim code path, whose vectors differ."""
    import tempfile
    import time

    from graphembed._limits import check_memory
    from graphembed.base import check_seed, numba_threads
    from graphembed.distributed.scheduler import client_for
    from graphembed.embed.node2vec import _EpochBar, _train_corpus_file
    from graphembed.embedding import Embedding
    from graphembed.graph import Graph
    from graphembed.io.atomic import check_free_space

    if not getattr(graph, "_graphembed_partitioned", False):
        graph = Graph.coerce(graph)
    est._validate_walks(graph)
    est._validate_training()
    est._check_dependencies()
    from gensim.models import Word2Vec

    est.seed_ = check_seed(est.random_state)
    n = graph.n_nodes
    check_memory(3 * 4 * n * int(est.dim), f"skip-gram with dim={est.dim} on {n} nodes")
    total_walks = n * int(est.walks_per_node)
    check_free_space(os.path.join(tempfile.gettempdir(), "walks.txt"),
                     2 * total_walks * int(est.walk_length) * (len(str(max(n - 1, 0))) + 1),
                     f"the walk shards and corpus of {total_walks} walks (set TMPDIR to move them)")
    with client_for(scheduler if scheduler is not None else graph.client) as client, \
            tempfile.TemporaryDirectory(prefix="graphembed-walks-") as tmp:
        _check_graph(graph, client)
        t0 = time.perf_counter()
        shards = Path(tmp) / "shards"
        shards.mkdir()
        count, total_walks, counts = write_shards(est, graph, client, shards, est.seed_, "index", visits=True)
        corpus = os.path.join(tmp, "walks.txt")
        with open(corpus, "wb") as f:
            concatenate(shards, count, f)
        import shutil

        shutil.rmtree(shards, ignore_errors=True)
        est.walk_seconds_ = time.perf_counter() - t0
        t0 = time.perf_counter()
        with numba_threads(est.n_jobs) as threads:
            model = Word2Vec(vector_size=int(est.dim), window=int(est.window), min_count=int(est.min_count), sg=1,
                             hs=0, negative=int(est.negative), sample=float(est.sample), alpha=float(est.alpha),
                             min_alpha=float(est.min_alpha), workers=threads, seed=int(est.seed_ % 2**31),
                             epochs=int(est.epochs))
            est._build_vocab(model, counts, total_walks)
            with _EpochBar(model, est.name, est.verbose) as callbacks:
                _train_corpus_file(model, corpus, int(counts.sum()), callbacks)
        est.train_seconds_ = time.perf_counter() - t0
    est.corpus_route_ = "file"
    est.shards_ = count
    est.embedding_ = Embedding(graph.node_ids, est._vectors(model, n), est.name, est._public_params())
    return est


def _replaceable(path):
    entries = [e for e in os.listdir(path) if not e.startswith(".")]
    if any(not (e.startswith("part-") and e.endswith(".txt")) for e in entries):
        raise InputError(f"{path}: exists and holds other files than walk shards (part-*.txt); name a new directory")


def save_walks(est, graph, client, output, directory):
    """``graphembed walks ... --scheduler``: the walks with the original ids as shards in the
    directory ``output`` (written atomically), or, when not ``directory``, the shards
    concatenated into the file ``output`` (the local ``walks`` file, byte for byte).
    Returns (walks, shards)."""
    import tempfile

    from graphembed.base import check_seed
    from graphembed.io.atomic import atomic_path

    est._validate_walks(graph)
    seed = check_seed(est.random_state)
    if directory:
        path = Path(os.fspath(output).rstrip("/" + os.sep) or os.fspath(output))
        with atomic_path(path, directory=True, replace_dir=_replaceable) as tmp:
            count, total, _ = write_shards(est, graph, client, tmp, seed, "ids")
        return total, count
    target = Path(output)
    with atomic_path(target) as tmp_file, \
            tempfile.TemporaryDirectory(prefix=".graphembed-shards-", dir=target.parent if str(target.parent) else ".") \
            as shards:
        count, total, _ = write_shards(est, graph, client, shards, seed, "ids")
        with open(tmp_file, "wb") as f:
            concatenate(shards, count, f)
    return total, count

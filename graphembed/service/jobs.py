"""Job specs: the tasks, their parameter tables, validation, memory estimates, and the runner of
each task (called in a worker process; each calls the library as the CLI command does).

``params`` of a job is one flat dict: the keys of the method's parameter table
(:mod:`graphembed.params`, the estimator's ``parameters``) go to the estimator, those of the
task's table below to the task. Every value is checked with the table's :class:`Param` (the
library's wording); ``n_jobs`` and ``verbose`` are the service's (``threads_per_job``, no bars).
A missing seed (``random_state`` of an embed job, ``seed`` of the other tasks that take one) is
drawn at submission and stored, so a rerun gives the same result.
"""
import json
import secrets
from pathlib import Path

from graphembed.params import (
    CLASSIFY_PROTOCOLS,
    CLUSTER_METHODS,
    HOM_SAMPLER,
    INDEX_METRICS,
    OPERATORS,
    Param,
)
from graphembed.service.errors import Invalid

SERVICE_KEYS = ("n_jobs", "verbose")  # set by the service, never by a job
OBSERVABLES = ("density", "conditional", "profile", "macc")  # graphembed homs --observable


def _seed_param():
    return Param("int", None, low=0, also=(None,), help="Random seed (drawn at submission when absent).")


# ---------------------------------------------------------------------------- the tasks' own tables
ORBITS_TASK = {
    "edges": Param("bool", False, help="Edge orbits: one row per edge (source, target, e0..e11), as ORCA's edge mode."),
}
HOMS_TASK = {
    "observable": Param("str", "density", choices=OBSERVABLES,
                        help="density t(F,G); conditional t(H,G|F); profile P(min weight on H >= s | F); macc."),
    "target": Param("str", None, also=(None,),
                    help="H for conditional/profile (default: the cycle closing a path motif; for profile: F)."),
    "thresholds": Param("floats", None, also=(None,),
                        help="s values for the profile (default: 10 steps up to the largest weight)."),
}
LINKPRED_EVALUATE_TASK = {
    "holdout": Param("float", 0.5, low=0, high=1, low_open=True, high_open=True,
                     help="Share of the edges removed (spanning forest kept)."),
    "operator": Param("str", "hadamard", choices=OPERATORS + ("all",), help="Pair feature operator, or all."),
    "train_fraction": Param("float", 0.5, low=0, high=1, low_open=True, high_open=True,
                            help="Share of the pairs the logistic regression is trained on."),
    "heuristics": Param("bool", True, help="Also score common neighbours, Jaccard, Adamic-Adar, "
                                           "preferential attachment."),
    "seed": _seed_param(),
}
LINKPRED_PREDICT_TASK = {
    "k": Param("int", 20, low=1, help="New pairs overall, or per node with per_node."),
    "per_node": Param("bool", False, help="The k new pairs of every node."),
    "metric": Param("str", "cosine", choices=INDEX_METRICS, help="Similarity of the candidate search."),
    "rescore": Param("bool", False, help="Re-rank candidates with a logistic regression on Hadamard features."),
    "seed": _seed_param(),
}
CLUSTER_TASK = {
    "cluster_method": Param("str", "kmeans", choices=CLUSTER_METHODS,
                            help="kmeans: faiss k-means; leiden: Leiden communities of the kNN graph."),
    "n_clusters": Param("int", None, low=1, also=(None,),
                        help="Clusters for k-means (default: the number of classes of the graph's labels)."),
    "knn": Param("int", 15, low=1, help="Neighbours per node in the kNN graph (leiden)."),
    "resolution": Param("float", 1.0, low=0, low_open=True, help="Leiden resolution."),
    "kmeans_normalize": Param("bool", False, help="k-means on L2-normalised vectors (cosine)."),
    "niter": Param("int", 25, low=1, help="k-means iterations."),
    "seed": _seed_param(),
}
CLASSIFY_TASK = {
    "protocol": Param("str", "topk", choices=CLASSIFY_PROTOCOLS + ("both",),
                      help="topk: each test node gets its true number of labels; threshold: probability >= 0.5."),
    "train": Param("float", 0.5, low=0, high=1, low_open=True, high_open=True,
                   help="Share of the labelled nodes used for training."),
    "splits": Param("int", 5, low=1, help="Random train/test splits averaged."),
    "C": Param("float", 0.1, low=0, low_open=True, help="Inverse regularisation of the logistic regression."),
    "standardize": Param("bool", True, help="Scale embedding columns first."),
    "seed": _seed_param(),
}

# task -> (takes an embedder?, the task's table, the result it writes)
TASKS = {
    "embed": (True, {}, "embedding"),
    "orbits": (False, ORBITS_TASK, "table"),
    "graphlets": (False, {}, "summary"),
    "homs": (False, HOMS_TASK, "summary"),
    "linkpred-evaluate": (True, LINKPRED_EVALUATE_TASK, "summary"),
    "linkpred-predict": (True, LINKPRED_PREDICT_TASK, "table"),
    "cluster": (True, CLUSTER_TASK, "table"),
    "classify": (True, CLASSIFY_TASK, "summary"),
}
DEFAULT_METHOD = "fastrp"  # graphembed linkpred --method's default
RESULT_FILES = {"embedding": "embedding.parquet", "table": "table.parquet", "summary": "summary.json",
                "index": "index"}


def task_names():
    return list(TASKS)


def schema_of(table, title):
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "type": "object",
            "additionalProperties": False,
            "properties": {name: p.schema() for name, p in table.items() if name not in SERVICE_KEYS}}


def method_table(task, method):
    """The estimator's parameter table of a job (None: the task takes no estimator)."""
    if task == "homs":
        return HOM_SAMPLER
    if not TASKS[task][0]:
        return None
    from graphembed.registry import get_embedder

    cls = get_embedder(method)
    return getattr(cls, "parameters", None) or {}


def split_params(task, method, params):
    """(estimator params, task params) of a stored job's flat ``params``."""
    table = method_table(task, method) or {}
    if TASKS[task][0] and not table:
        table = dict.fromkeys(_init_names(method))
    est = {k: v for k, v in params.items() if k in table}
    return est, {k: v for k, v in params.items() if k not in est}


def draw_seed():
    return secrets.randbelow(2**31)


def _check(name, param, value):
    from graphembed.io.errors import InputError

    try:
        return param.check(name, value)
    except InputError as exc:
        raise Invalid(str(exc), param=name) from None


def validate(spec, embedders):
    """The job as it will run: {task, method, index, params, estimator_params, task_params}.

    ``spec`` is the request's dict; ``embedders`` the registered names. Invalid (422) names the
    field or parameter for anything the tables do not accept."""
    if not isinstance(spec, dict):
        raise Invalid("the job must be a JSON object")
    known = {"graph", "task", "method", "params", "index"}
    for key in spec:
        if key not in known:
            raise Invalid(f"unknown job field {str(key)[:40]!r}; the fields are {', '.join(sorted(known))}", param=str(key))
    task = spec.get("task")
    if not isinstance(task, str) or task not in TASKS:
        raise Invalid(f"task must be one of {', '.join(TASKS)}, got {str(task)[:40]!r}", param="task")
    takes_embedder, task_table, _ = TASKS[task]
    method = spec.get("method")
    if takes_embedder:
        if method is None and task != "embed":
            method = DEFAULT_METHOD
        if not isinstance(method, str) or method not in embedders:
            raise Invalid(f"method must be a registered embedder ({', '.join(embedders)}), got {str(method)[:40]!r}",
                          param="method")
    elif method is not None:
        raise Invalid(f"task {task} takes no method, got {str(method)[:40]!r}", param="method")
    index = spec.get("index", False)
    if not isinstance(index, bool):
        raise Invalid(f"index must be true or false, got {str(index)[:40]!r}", param="index")
    if index and task != "embed":
        raise Invalid("index applies to embed jobs only", param="index")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise Invalid("params must be a JSON object", param="params")
    table = method_table(task, method) or {}
    if takes_embedder and not table:  # a plugin without a parameters table: its __init__ names them
        table = {name: None for name in _init_names(method)}
    est_params, task_params = {}, {}
    owner = method if takes_embedder else ("the homomorphism sampler" if task == "homs" else f"task {task}")
    for key, value in params.items():
        if not isinstance(key, str):
            raise Invalid("parameter names must be strings", param=str(key))
        if key in SERVICE_KEYS and (key in table or key in task_table):
            raise Invalid(f"{key} is set by the service (threads per job), not by a job", param=key)
        in_method, in_task = key in table, key in task_table
        if in_method and in_task:
            raise Invalid(f"{key} is a parameter of both {owner} and task {task}", param=key)
        if in_method:
            est_params[key] = value if table[key] is None else _check(key, table[key], value)
        elif in_task:
            task_params[key] = _check(key, task_table[key], value)
        else:
            names = sorted(k for k in (*table, *task_table) if k not in SERVICE_KEYS)
            where = owner if not task_table or not table else f"{owner} or task {task}"
            raise Invalid(f"{where} has no parameter {key[:40]!r}; its parameters are {', '.join(names)}", param=key)
    # seeds drawn now, stored with the job
    if "seed" in task_table:
        if task_params.get("seed") is None:
            task_params["seed"] = draw_seed()
    elif "random_state" in table and est_params.get("random_state") is None:
        est_params["random_state"] = draw_seed()
    if takes_embedder:
        _check_estimator(method, est_params)
    return {"task": task, "method": method, "index": index, "params": {**est_params, **task_params},
            "estimator_params": est_params, "task_params": task_params}


def _init_names(method):
    import inspect

    from graphembed.registry import get_embedder

    try:
        names = list(inspect.signature(get_embedder(method).__init__).parameters)
    except (TypeError, ValueError):  # pragma: no cover
        return []
    return [n for n in names if n not in ("self", "args", "kwargs")]


def _check_estimator(method, est_params):
    """The estimator's own checks (its ``_check_params``), as ``graphembed linkpred`` runs them."""
    from graphembed.io.errors import InputError
    from graphembed.registry import make_embedder

    try:
        est = make_embedder(method, est_params)
        check = getattr(est, "_check_params", None)
        if check is not None:
            check()
    except (InputError, TypeError, ValueError) as exc:  # a plugin may raise plain ValueErrors
        text = str(exc)
        name = text.split(" ", 1)[0]
        raise Invalid(text, param=name if name in est_params else None) from None


# ---------------------------------------------------------------------------- memory estimates
BASELINE_BYTES = 256 << 20  # a worker process: Python, numpy, numba, pyarrow, scikit-learn


def _value(params, table, name, default):
    value = params.get(name)
    if value is None and table and name in table:
        value = table[name].default
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def estimate_memory(task, method, params, n_nodes, n_edges, table=None):
    """Bytes a job's worker may need at its peak: the graph (held a few times over), the method's
    largest arrays (vectors, walks, samples) and the task's."""
    n, nnz = int(n_nodes), 2 * int(n_edges)
    graph = 8 * (n + 1) + 8 * nnz + 16 * n
    dim = int(_value(params, table, "dim", 128))
    total = BASELINE_BYTES + 3 * graph
    if TASKS[task][0]:
        if method in ("node2vec", "deepwalk"):
            walks = n * int(_value(params, table, "walks_per_node", 10)) * int(_value(params, table, "walk_length", 80))
            total += 16 * walks + 3 * 4 * n * dim
        elif method == "grf":
            steps = 1.0 / max(float(_value(params, table, "p_halt", 0.5)), 1e-3)
            walks = n * int(_value(params, table, "n_walks", 64)) * steps * 2
            total += int(24 * walks * min(steps, 16)) + 4 * n * dim * 2
        elif method == "line":
            total += 3 * 4 * n * dim + 16 * nnz
        elif method in ("orbits", "orbit-adjacency"):
            total += 4 * 15 * 8 * n + 64 * nnz + 4 * n * dim * 3
        else:
            total += 4 * 4 * n * dim + 16 * nnz
        if task in ("linkpred-evaluate",):
            total += 4 * 8 * nnz * dim // 4 + 32 * nnz
        elif task in ("linkpred-predict", "cluster", "classify"):
            total += 3 * 8 * n * dim
    elif task in ("orbits", "graphlets"):
        total += 4 * 15 * 8 * n + 48 * nnz
    elif task == "homs":
        total += 64 * n + 16 * nnz + 8 * int(_value(params, HOM_SAMPLER, "n_chains", 8)) * 1024
    return int(total)


# ---------------------------------------------------------------------------- runners (worker side)
def _without_seconds(summary):
    """A summary without its timings (the job record has them), so reruns give the same bytes."""
    if isinstance(summary, dict):
        return {k: _without_seconds(v) for k, v in summary.items() if not str(k).endswith("seconds")}
    return summary


def write_json(obj, path):
    from graphembed.io.atomic import atomic_path
    from graphembed.io.metadata import json_default

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, default=json_default) + "\n")


def _embedder(job, threads):
    from graphembed.registry import make_embedder

    est_params = dict(job["estimator_params"])
    seed = job["task_params"].get("seed")
    est = make_embedder(job["method"], est_params, seed=seed, n_jobs=threads, verbose=False)
    check = getattr(est, "_check_params", None)
    if check is not None:
        check()
    check_dependencies = getattr(est, "_check_dependencies", None)
    if check_dependencies is not None:
        check_dependencies()
    return est


def run_embed(job, graph, out, threads, labels=None):
    from graphembed.index import build_and_save

    emb = _embedder(job, threads).fit_transform(graph)
    emb.save(out / RESULT_FILES["embedding"], "parquet")
    results = {"embedding": True}
    if job["index"]:
        build_and_save(emb, out / RESULT_FILES["index"])
        results["index"] = True
    return results


def run_orbits(job, graph, out, threads, labels=None):
    """``graphembed orbits -o table.parquet [--edges]``."""
    import numpy as np
    import pyarrow as pa

    from graphembed.io.tables import id_array, write_table
    from graphembed.structure import orbits as orb

    simple = orb._Simple(graph)
    meta = {"symmetrized": simple.symmetrized, "source": str(graph.stats.get("source"))}
    ids = graph.node_ids
    if job["task_params"].get("edges", False):
        types, tri = orb._edge_types(simple, threads, verbose=False)
        src, dst, e = orb._edge_orbit_table(simple, types, tri)
        columns = {"source": id_array(ids[src]), "target": id_array(ids[dst])}
        for j, name in enumerate(orb.EDGE_ORBIT_COLUMNS):
            columns[name] = pa.array(e[:, j], type=pa.int64())
        meta["edge_orbits"] = [list(p) for p in orb.EDGE_ORBITS]
    else:
        counts = orb._node_orbits(simple, threads, verbose=False)
        columns = {"node": id_array(ids)}
        for j, name in enumerate(orb.ORBIT_COLUMNS):
            columns[name] = pa.array(np.ascontiguousarray(counts[:, j]), type=pa.int64())
    write_table(columns, out / RESULT_FILES["table"], "parquet", meta)
    return {"table": True}


def run_graphlets(job, graph, out, threads, labels=None):
    """``graphembed orbits --graphlets --json``."""
    from graphembed.structure import orbits as orb

    simple = orb._Simple(graph)
    counts = orb._node_orbits(simple, threads, verbose=False)
    summary = {"nodes": simple.n, "edges": simple.n_edges, "symmetrized": simple.symmetrized,
               "graphlets": orb._graphlets_from_node_orbits(counts)}
    write_json(summary, out / RESULT_FILES["summary"])
    return {"summary": True}


def run_homs(job, graph, out, threads, labels=None):
    """``graphembed homs --json`` with the sampler's parameters."""
    from graphembed.cli.homs import _default_target
    from graphembed.io.errors import InputError
    from graphembed.structure.hom_sampling import HomomorphismSampler

    tp = job["task_params"]
    observable = tp.get("observable", "density")
    target = tp.get("target")
    est = dict(job["estimator_params"])
    if observable == "conditional" and target is None:
        target = _default_target(est.get("motif", HOM_SAMPLER["motif"].default))
        if target is None:
            raise InputError("observable conditional needs target H (F plus extra edges)")
    sampler = HomomorphismSampler(**est, n_jobs=threads).fit(graph)
    if observable == "density":
        result = sampler.density()
    elif observable == "conditional":
        result = sampler.conditional_density(target)
    elif observable == "profile":
        thresholds = tp.get("thresholds")
        if not thresholds:
            top = float(graph.weights.max()) if graph.weights is not None else 1.0
            thresholds = [top * i / 10 for i in range(11)]
        result = sampler.profile(thresholds, target)
    else:
        result = sampler.macc()
    summary = result.to_dict()
    summary.update(nodes=graph.n_nodes, edges=graph.n_edges, seed=sampler.seed_)
    write_json(_without_seconds(summary), out / RESULT_FILES["summary"])
    return {"summary": True}


def run_linkpred_evaluate(job, graph, out, threads, labels=None):
    """``graphembed linkpred evaluate --json``."""
    from graphembed.tasks.linkpred import HEURISTICS, evaluate

    tp = job["task_params"]
    res = evaluate(graph, _embedder(job, threads), holdout=tp.get("holdout", 0.5),
                   operators=(tp.get("operator", "hadamard"),), seed=tp["seed"],
                   train_fraction=tp.get("train_fraction", 0.5),
                   heuristics=HEURISTICS if tp.get("heuristics", True) else ())
    write_json(_without_seconds(res), out / RESULT_FILES["summary"])
    return {"summary": True}


def run_linkpred_predict(job, graph, out, threads, labels=None):
    """``graphembed linkpred predict --embedding`` on the graph's embedding by the job's method."""
    from graphembed.io.tables import write_table
    from graphembed.tasks.new_links import predict

    tp = job["task_params"]
    emb = _embedder(job, threads).fit_transform(graph)
    res = predict(graph, emb, top=tp.get("k", 20), per_node=tp.get("per_node", False), metric=tp.get("metric", "cosine"),
                  rescore=tp.get("rescore", False), seed=tp["seed"], threads=threads)
    write_table({"source": res["source"], "target": res["target"], "score": res["score"], "rank": res["rank"]},
                out / RESULT_FILES["table"], "parquet")
    return {"table": True}


def run_cluster(job, graph, out, threads, labels=None):
    """``graphembed cluster EMB [--labels] --graph`` on the graph's embedding by the job's method."""
    import numpy as np

    from graphembed.io.errors import InputError
    from graphembed.io.tables import write_table
    from graphembed.tasks import cluster as tasks

    tp = job["task_params"]
    emb = _embedder(job, threads).fit_transform(graph)
    truth = labels(emb.node_ids) if labels is not None else None
    if truth is not None and truth.multilabel:
        truth = None  # NMI and ARI need one label per node
    method = tp.get("cluster_method", "kmeans")
    summary = {"method": method, "nodes": len(emb)}
    if method == "kmeans":
        k = tp.get("n_clusters")
        if k is None:
            if truth is None:
                raise InputError("k-means needs n_clusters (or single-label labels with the graph)")
            k = len(truth.classes)
        assigned, _, objective = tasks.kmeans(emb.vectors, k, tp["seed"], niter=tp.get("niter", 25),
                                              normalize=tp.get("kmeans_normalize", False), threads=threads)
        summary.update({"k": int(k), "objective": objective, "normalize": tp.get("kmeans_normalize", False)})
    else:
        assigned = tasks.leiden(emb.vectors, tp.get("knn", 15), tp.get("resolution", 1.0), tp["seed"], threads=threads)
        summary.update({"knn": tp.get("knn", 15), "resolution": tp.get("resolution", 1.0)})
    summary["clusters"] = int(np.unique(assigned).size)
    summary["largest_cluster"] = int(np.bincount(np.unique(assigned, return_inverse=True)[1]).max())
    if truth is not None:
        summary.update(tasks.cluster_scores(assigned, truth.single()))
    glabels, missing = tasks.graph_labels(graph, emb.node_ids, assigned)
    summary["modularity"] = tasks.modularity(graph, glabels)
    summary["graph_nodes_without_vector"] = missing
    write_table({"node": emb.node_ids, "cluster": assigned}, out / RESULT_FILES["table"], "parquet")
    write_json(summary, out / RESULT_FILES["summary"])
    return {"table": True, "summary": True}


def run_classify(job, graph, out, threads, labels=None):
    """``graphembed classify EMB --labels --json`` on the graph's embedding by the job's method."""
    from graphembed.io.errors import InputError
    from graphembed.tasks.classify import node_classification_protocols

    tp = job["task_params"]
    if labels is None:
        raise InputError("classify needs the graph's labels (upload them with the graph)")
    emb = _embedder(job, threads).fit_transform(graph)
    truth = labels(emb.node_ids)
    protocol = tp.get("protocol", "topk")
    protocols = list(CLASSIFY_PROTOCOLS) if protocol == "both" else [protocol]
    by_protocol = node_classification_protocols(
        emb.vectors, truth, train=tp.get("train", 0.5), splits=tp.get("splits", 5), protocols=protocols,
        seed=tp["seed"], C=tp.get("C", 0.1), standardize=tp.get("standardize", True), n_jobs=threads)
    summary = {"method": emb.method, "labelled_nodes": int(truth.labelled.sum()),
               "unmatched_label_rows": truth.unmatched, "classes": len(truth.classes),
               "multilabel": truth.multilabel, "results": [by_protocol[p] for p in protocols]}
    write_json(_without_seconds(summary), out / RESULT_FILES["summary"])
    return {"summary": True}


RUNNERS = {"embed": run_embed, "orbits": run_orbits, "graphlets": run_graphlets, "homs": run_homs,
           "linkpred-evaluate": run_linkpred_evaluate, "linkpred-predict": run_linkpred_predict,
           "cluster": run_cluster, "classify": run_classify}


def run(job, graph_path, labels_path, out, threads):
    """Run one job (in its worker process): read the stored graph, write the results into ``out``.
    Returns the ``results`` dict of the job record."""
    from graphembed.service.catalog import load_graph, load_labels

    graph = load_graph(graph_path)
    labels = None
    if labels_path is not None:
        def labels(node_ids):
            return load_labels(labels_path, node_ids, source="labels")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return RUNNERS[job["task"]](job, graph, out, threads, labels)

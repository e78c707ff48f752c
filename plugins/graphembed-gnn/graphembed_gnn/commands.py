"""The work behind ``graphembed gnn train`` and ``graphembed gnn embed`` (imports torch)."""
import time
from pathlib import Path

import numpy as np

from graphembed.cli.common import load_graph, report, run_embedding
from graphembed.io.errors import InputError

PLANETOID = ("cora", "citeseer", "pubmed")


def _torch_setup(opts):
    import torch

    from graphembed_gnn.data import resolve_device

    device = resolve_device(opts["device"])  # fail before any reading
    if opts.get("threads"):
        torch.set_num_threads(opts["threads"])
    return device


def run_train(opts):
    from graphembed_gnn.data import node_features, random_split, read_labels
    from graphembed_gnn.train import train_node_classifier

    device = _torch_setup(opts)
    t0 = time.perf_counter()
    name = str(opts["input"])
    planetoid = name.lower() in PLANETOID and not Path(name).exists()
    if planetoid:
        from graphembed.datasets import load_planetoid

        data = load_planetoid(name.lower(), root=opts["data_dir"])
        graph, labels = data["graph"], data["labels"]
        masks = (data["train_mask"], data["val_mask"], data["test_mask"])
        own = data["features"]
        classes = [str(c) for c in range(data["n_classes"])]
        split = "public"
    else:
        if opts["labels_file"] is None:
            raise InputError(f"{name}: --labels FILE is needed (or INPUT cora, citeseer or pubmed)")
        graph = load_graph(opts)
        labels, classes = read_labels(opts["labels_file"], graph)
        masks = random_split(labels, opts["train_ratio"], opts["val_ratio"], seed=opts["seed"])
        own = None
        split = f"random {opts['train_ratio']}/{opts['val_ratio']}"
    features = opts["features"] or ("own" if own is not None else "fastrp")
    if features == "own":
        x = node_features(graph, own, row_normalize=True)
    else:
        x = node_features(graph, features, dim=opts["feature_dim"], seed=opts["seed"])
    t_read = time.perf_counter() - t0
    params = {"epochs": opts["epochs"], "hidden": opts["hidden"], "layers": opts["layers"],
              "heads": opts["heads"], "lr": opts["lr"], "weight_decay": opts["weight_decay"],
              "dropout": opts["dropout"], "input_dropout": opts["input_dropout"],
              "patience": opts["patience"]}
    if opts["model"] == "grand":
        params.update(time=opts["diffusion_time"], solver=opts["solver"], step_size=opts["step_size"])
    result = train_node_classifier(
        graph, x, labels, masks, opts["model"], device=str(device), amp=opts["amp"],
        batching=opts["batching"], batch_size=opts["batch_size"], fanouts=opts["fanouts"],
        seed=opts["seed"], verbose=not opts["quiet"] and not opts["as_json"], **params)
    t_total = time.perf_counter() - t0
    if opts["output"]:
        _write_predictions(opts["output"], graph, labels, result["predictions"], masks, classes)
    summary = {
        "dataset": name.lower() if planetoid else name, "model": opts["model"], "split": split,
        "features": features, "nodes": graph.n_nodes, "edges": graph.n_edges,
        "classes": len(classes),
        "test_accuracy": round(result["test_accuracy"], 4),
        "val_accuracy": round(result["val_accuracy"], 4),
        "train_accuracy": round(result["train_accuracy"], 4),
        "best_epoch": result["best_epoch"], "epochs_run": result["epochs_run"],
        "epoch_seconds": round(result["epoch_seconds"], 4), "device": result["device"],
        "amp": result["amp"], "batching": result["batching"], "seed": opts["seed"],
        "read_seconds": round(t_read, 3), "seconds": round(t_total, 3),
        "settings": result["settings"], "output": opts["output"],
    }
    report(summary, opts, f"{opts['model']} on {summary['dataset']}: test accuracy "
                          f"{result['test_accuracy']:.4f} (val {result['val_accuracy']:.4f}, best "
                          f"epoch {result['best_epoch']}/{result['epochs_run']}, "
                          f"{result['epoch_seconds'] * 1000:.1f} ms/epoch on {result['device']})")
    return summary


def _write_predictions(path, graph, labels, predictions, masks, classes):
    import csv

    from graphembed.io.atomic import atomic_path

    split = np.full(graph.n_nodes, "", dtype=object)
    for mask, name in zip(masks, ("train", "val", "test")):
        split[np.asarray(mask, dtype=bool)] = name
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["node", "label", "predicted", "split"])
        for i, node in enumerate(graph.node_ids.tolist()):
            w.writerow([node, classes[labels[i]] if labels[i] >= 0 else "",
                        classes[predictions[i]], split[i]])


def run_embed(opts):
    from graphembed_gnn.embedders import GraphSAGE

    _torch_setup(opts)
    batch = {"full": None, "mini": opts["batch_size"], "auto": "auto"}[opts["batching"]]
    fanouts = list(opts["fanouts"])
    if len(fanouts) != opts["layers"]:  # repeat the last fanout for deeper models
        fanouts = (fanouts + [fanouts[-1]] * opts["layers"])[:opts["layers"]]
    run_embedding(opts, lambda: GraphSAGE(
        dim=opts["dim"], hidden=opts["hidden"], layers=opts["layers"], features=opts["features"],
        feature_dim=opts["feature_dim"], epochs=opts["epochs"], lr=opts["lr"],
        negatives=opts["negatives"], batch_size=batch, auto_batch_size=opts["batch_size"],
        fanouts=tuple(fanouts), device=opts["device"], normalize=opts["normalize"],
        random_state=opts["seed"], verbose=not opts["quiet"] and not opts["as_json"]))

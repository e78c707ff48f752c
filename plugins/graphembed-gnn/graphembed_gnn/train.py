"""Supervised node classification: full-batch or neighbour-sampled training with model selection."""
import copy
import time

import numpy as np

from graphembed.io.errors import InputError

BATCHING = ("auto", "full", "mini")


def seed_everything(seed):
    import torch

    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


class deterministic_on_cpu:
    """Within the block, use torch's deterministic kernels when the device is the CPU.

    Several CPU scatter kernels (the neighbour sums of every layer here) otherwise add in a
    thread-dependent order, so two runs with one seed could differ in the last bits.
    """

    def __init__(self, device):
        self.on = device.type == "cpu"

    def __enter__(self):
        import torch

        if self.on:
            self.previous = (torch.are_deterministic_algorithms_enabled(),
                             torch.is_deterministic_algorithms_warn_only_enabled())
            torch.use_deterministic_algorithms(True, warn_only=True)
        return self

    def __exit__(self, *exc):
        import torch

        if self.on:
            torch.use_deterministic_algorithms(self.previous[0], warn_only=self.previous[1])
        return False


def fits_in_memory(n_nodes, nnz, in_dim, width, layers, device):
    """True when a full-batch pass (activations kept for backward) uses under half the free memory."""
    import torch

    # features + per-layer node activations (x4: pre/post activation, dropout mask, grad)
    # + per-layer edge messages
    need = 4 * (n_nodes * in_dim + layers * (4 * n_nodes * width + 2 * nnz * width))
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        try:
            import psutil

            free = psutil.virtual_memory().available
        except ImportError:
            free = 4 * 2**30
    return need < 0.5 * free


def _amp_context(device, enabled):
    import contextlib

    import torch

    if not enabled or device.type != "cuda":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def train_node_classifier(graph, features, labels, masks, model="gcn", *, device="auto", amp=None,
                          batching="auto", batch_size=512, fanouts=(25, 10), seed=0,
                          threads=None, verbose=False, **params):
    """Train a GNN for node classification and report its accuracy on the masks.

    Parameters
    ----------
    graph : graphembed Graph (n nodes).
    features : float32 array (n, d) of node features.
    labels : int array (n,); -1 marks unlabelled nodes.
    masks : (train, val, test) boolean arrays (n,).
    model : "gcn", "sage", "gat" or "grand".
    device : "auto" (CUDA when present), "cpu" or "cuda".
    amp : mixed precision (bf16, or fp16 with loss scaling); default on for CUDA, never on CPU.
    batching : "full" (whole graph per step), "mini" (neighbour-sampled batches of ``batch_size``
        training nodes, ``fanouts`` neighbours per hop) or "auto" (full when it fits in memory).
    seed : int seed; the same seed gives the same result on CPU.
    threads : torch CPU threads (None: torch's default).
    params : hyperparameters overriding :data:`graphembed_gnn.models.DEFAULTS` (hidden, layers,
        heads, dropout, input_dropout, lr, weight_decay, epochs, patience, optimizer, time,
        solver, step_size, attention_dim, attention_type, attention_norm, attention_fn, rtol,
        atol).

    Returns
    -------
    dict: ``train/val/test_accuracy`` of the model at the epoch of best validation accuracy (ties:
    lower validation loss), ``best_epoch``, ``epochs_run``, ``epoch_seconds`` (mean training step),
    ``device``, ``batching``, ``settings``, ``predictions`` (int array (n,)) and ``model``.
    """
    from graphembed_gnn.data import resolve_device

    with deterministic_on_cpu(resolve_device(device)):
        return _train(graph, features, labels, masks, model, device=device, amp=amp,
                      batching=batching, batch_size=batch_size, fanouts=fanouts, seed=seed,
                      threads=threads, verbose=verbose, **params)


def _train(graph, features, labels, masks, model, *, device, amp, batching, batch_size, fanouts, seed,
           threads, verbose, **params):
    import torch
    import torch.nn.functional as F

    from graphembed_gnn.data import edge_index as make_edge_index, resolve_device
    from graphembed_gnn.models import build_model

    dev = resolve_device(device)
    if batching not in BATCHING:
        raise InputError(f"batching must be one of {BATCHING}, got {batching!r}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    labels = np.asarray(labels, dtype=np.int64)
    train_mask, val_mask, test_mask = (np.asarray(m, dtype=bool) for m in masks)
    n = graph.n_nodes
    if features.shape[0] != n or labels.shape[0] != n:
        raise InputError(f"features ({features.shape[0]}) and labels ({labels.shape[0]}) must have "
                         f"one row per node ({n})")
    if not train_mask.any():
        raise InputError("no labelled training nodes")
    if (labels[train_mask | val_mask | test_mask] < 0).any():
        raise InputError("a train/val/test node has no label")
    n_classes = int(labels.max()) + 1
    seed_everything(seed)
    width = max(params.get("hidden") or 64, 1) * (params.get("heads") or 1)
    full = batching == "full" or (batching == "auto" and fits_in_memory(
        n, graph.nnz, features.shape[1], width, params.get("layers") or 2, dev))
    net, settings = build_model(model, features.shape[1], n_classes, full_batch=full, **params)
    net = net.to(dev)
    use_amp = (dev.type == "cuda") if amp is None else bool(amp and dev.type == "cuda")
    autocast, scaler = _amp_context(dev, use_amp)

    wd = settings["weight_decay"]
    first = net.first_layer_parameters()
    first_ids = {id(p) for p in first}
    rest = [p for p in net.parameters() if id(p) not in first_ids]
    # Kipf & Welling put weight decay on the first layer only; GAT and GRAND on all weights.
    groups = [{"params": first, "weight_decay": wd},
              {"params": rest, "weight_decay": 0.0 if model == "gcn" else wd}]
    opt_cls = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax,
               "adamw": torch.optim.AdamW}[settings["optimizer"]]
    optimizer = opt_cls(groups, lr=settings["lr"])

    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(dev)
    sparse_input = full and model != "sage" and dev.type == "cpu" and \
        np.count_nonzero(features) < 0.1 * features.size
    if sparse_input:  # bag-of-words: the first layer as a sparse product, 5-10x faster on CPU
        from graphembed_gnn.models import quiet_sparse_warnings

        quiet_sparse_warnings()
        x = x.to_sparse_csr()
    y = torch.from_numpy(labels).to(dev)
    ei = make_edge_index(graph, dev)
    masks_t = [torch.from_numpy(m).to(dev) for m in (train_mask, val_mask, test_mask)]

    sampler = None
    if not full:
        from graphembed_gnn.sampler import CSRNeighborSampler, in_neighbour_csr

        indptr, indices = in_neighbour_csr(graph)
        sampler = CSRNeighborSampler(indptr, indices, fanouts, seed=seed)
        eval_sampler = CSRNeighborSampler(indptr, indices, [-1] * len(fanouts), seed=seed)
        train_nodes = np.flatnonzero(train_mask)
        batch_rng = np.random.default_rng(seed)

    def step_full():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            out = net(x, ei)
            loss = F.cross_entropy(out[masks_t[0]].float(), y[masks_t[0]])
        _backward(loss)
        return float(loss.detach())

    def step_mini():
        total, count = 0.0, 0
        order = batch_rng.permutation(train_nodes)
        for start in range(0, order.size, batch_size):
            batch = order[start:start + batch_size]
            ids, local_ei, bs = sampler.sample(batch)
            ids_t = torch.from_numpy(ids).to(dev)
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                out = net(x[ids_t], torch.from_numpy(local_ei).to(dev))[:bs]
                loss = F.cross_entropy(out.float(), y[ids_t[:bs]])
            _backward(loss)
            total += float(loss.detach()) * bs
            count += bs
        return total / count

    def _backward(loss):
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    @torch.no_grad()
    def logits_all():
        net.eval()
        try:
            with autocast:
                if full:
                    return net(x, ei).float()
                out = torch.empty((n, n_classes), device=dev)
                for start in range(0, n, batch_size * 4):
                    batch = np.arange(start, min(n, start + batch_size * 4))
                    ids, local_ei, bs = eval_sampler.sample(batch)
                    ids_t = torch.from_numpy(ids).to(dev)
                    out[ids_t[:bs]] = net(x[ids_t], torch.from_numpy(local_ei).to(dev))[:bs].float()
                return out
        finally:
            net.train()

    def accuracy(pred, mask):
        return float((pred[mask] == y[mask]).float().mean()) if bool(mask.any()) else float("nan")

    best = {"val_acc": -1.0, "val_loss": float("inf"), "epoch": -1, "state": None}
    patience = settings.get("patience")
    since_best = 0
    step_times = []
    epochs = int(settings["epochs"])
    if epochs < 1:
        raise InputError(f"epochs must be >= 1, got {epochs}")
    from graphembed.base import progress

    net.train()
    bar = progress(epochs, f"{model} training", verbose)
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            step_full() if full else step_mini()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            step_times.append(time.perf_counter() - t0)
            out = logits_all()
            val_loss = float(F.cross_entropy(out[masks_t[1]], y[masks_t[1]])) if bool(masks_t[1].any()) \
                else 0.0
            pred = out.argmax(1)
            val_acc = accuracy(pred, masks_t[1]) if bool(masks_t[1].any()) else accuracy(pred, masks_t[0])
            improved = val_acc > best["val_acc"] or (val_acc == best["val_acc"] and val_loss < best["val_loss"])
            if improved:
                best.update(val_acc=val_acc, val_loss=val_loss, epoch=epoch,
                            state=copy.deepcopy(net.state_dict()))
            if patience:
                # GAT's rule: wait while either the validation accuracy or loss keeps improving
                if improved or val_loss < best.get("min_loss", float("inf")):
                    since_best = 0
                else:
                    since_best += 1
                best["min_loss"] = min(best.get("min_loss", float("inf")), val_loss)
                if since_best >= patience:
                    break
            bar.update(1)
    finally:
        bar.close()
    net.load_state_dict(best["state"])
    out = logits_all()
    pred = out.argmax(1)
    return {
        "model": net,
        "train_accuracy": accuracy(pred, masks_t[0]),
        "val_accuracy": accuracy(pred, masks_t[1]),
        "test_accuracy": accuracy(pred, masks_t[2]),
        "best_epoch": best["epoch"],
        "epochs_run": epoch,
        "epoch_seconds": float(np.mean(step_times)),
        "device": str(dev),
        "amp": use_amp,
        "batching": "full" if full else "mini",
        "sparse_input": bool(sparse_input),
        "settings": settings,
        "predictions": pred.cpu().numpy(),
    }

"""Unsupervised GraphSAGE embeddings as a graphembed estimator (``get_embedder("graphsage")``)."""
import time

import numpy as np

from graphembed.base import BaseEmbedder, check_seed, progress
from graphembed.graph import Graph
from graphembed.io.errors import InputError


class GraphSAGE(BaseEmbedder):
    """Unsupervised GraphSAGE node embeddings (Hamilton, Ying & Leskovec, NeurIPS 2017).

    A ``layers``-deep GraphSAGE network with mean aggregation maps each node's input features
    (``features``) and neighbourhood to a ``dim``-dimensional vector, trained with the paper's
    unsupervised loss: for each edge (u, v) and ``negatives`` nodes w drawn with probability
    proportional to degree^0.75, ``-log sigmoid(z_u . z_v) - sum_w log sigmoid(-z_u . z_w)``.
    https://arxiv.org/abs/1706.02216

    Parameters
    ----------
    dim : output dimension.
    hidden : width of the hidden layers (default: ``dim``).
    layers : number of SAGEConv layers (hops).
    features : input features when ``fit`` gets none: "fastrp", "orbits", "degree" or an
        embedding file; see :func:`graphembed_gnn.data.node_features`.
    feature_dim : dimension of the FastRP input features.
    epochs : passes over the edges.
    lr : Adam learning rate.
    negatives : negative samples per positive edge.
    batch_size : positive edges per neighbour-sampled step; None: every edge in one full-graph
        step per epoch; "auto": full-graph when it fits in memory, else ``auto_batch_size``.
    auto_batch_size : the batch size "auto" falls back to.
    fanouts : neighbours sampled per hop in mini-batch mode.
    device : "auto", "cpu" or "cuda".
    normalize : L2-normalise the output vectors.
    random_state : None, int or numpy Generator.
    verbose : progress bar on stderr.

    Attributes
    ----------
    embedding_ : graphembed Embedding (n_nodes, dim), method "graphsage".
    loss_ : float, mean loss of the last epoch.
    model_ : the trained torch module.
    """

    name = "graphsage"

    def __init__(self, dim=128, hidden=None, layers=2, features="fastrp", feature_dim=64, epochs=50,
                 lr=0.01, negatives=1, batch_size="auto", auto_batch_size=512, fanouts=(25, 10),
                 device="auto",
                 normalize=False, random_state=None, verbose=False):
        self.dim = dim
        self.hidden = hidden
        self.layers = layers
        self.features = features
        self.feature_dim = feature_dim
        self.epochs = epochs
        self.lr = lr
        self.negatives = negatives
        self.batch_size = batch_size
        self.auto_batch_size = auto_batch_size
        self.fanouts = fanouts
        self.device = device
        self.normalize = normalize
        self.random_state = random_state
        self.verbose = verbose

    def _validate(self):
        for name in ("dim", "layers", "epochs", "negatives", "feature_dim"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive int, got {value!r}")
        if self.hidden is not None and (not isinstance(self.hidden, (int, np.integer)) or self.hidden < 1):
            raise InputError(f"hidden must be a positive int or None, got {self.hidden!r}")
        for name in ("batch_size", "auto_batch_size"):
            value = getattr(self, name)
            if value is None or (name == "batch_size" and value == "auto"):
                continue
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive int, None or 'auto', got {value!r}")
        if not self.lr > 0:
            raise InputError(f"lr must be > 0, got {self.lr!r}")
        if len(self.fanouts) != self.layers:
            raise InputError(f"fanouts needs one entry per layer ({self.layers}), got {list(self.fanouts)}")

    def fit(self, graph, features=None):
        """Train on ``graph`` (a graphembed Graph, or anything ``Graph.from_scipy`` /
        ``Graph.from_networkx`` accepts); ``features``: array (n, d) overriding ``self.features``."""
        from graphembed_gnn.data import resolve_device
        from graphembed_gnn.train import deterministic_on_cpu

        with deterministic_on_cpu(resolve_device(self.device)):
            return self._fit(graph, features)

    def _fit(self, graph, features):
        import torch
        import torch.nn.functional as F

        from graphembed.embedding import Embedding
        from graphembed_gnn.data import edge_index, node_features, resolve_device
        from graphembed_gnn.models import SAGE
        from graphembed_gnn.train import seed_everything

        graph = Graph.coerce(graph)
        self._validate()
        if graph.nnz == 0:
            raise InputError("the graph has no edges: GraphSAGE learns from edges")
        dev = resolve_device(self.device)
        seed = check_seed(self.random_state)
        t0 = time.perf_counter()
        x_np = node_features(graph, self.features if features is None else features,
                             dim=self.feature_dim, seed=seed % (2**32))
        seed_everything(seed % (2**63))
        rng = np.random.default_rng(seed)
        hidden = self.hidden or self.dim
        net = SAGE(x_np.shape[1], hidden, self.dim, self.layers, dropout=0.0).to(dev)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr)
        x = torch.from_numpy(x_np).to(dev)
        ei = edge_index(graph, dev)
        rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
        pos_src, pos_dst = rows, graph.indices.astype(np.int64)
        noise = graph.out_degree().astype(np.float64) ** 0.75
        if graph.directed:
            noise = noise + np.bincount(graph.indices, minlength=graph.n_nodes) ** 0.75
        noise = noise / noise.sum()
        m = pos_src.size
        batch_size = self.batch_size
        if batch_size == "auto":
            from graphembed_gnn.train import fits_in_memory

            fits = fits_in_memory(graph.n_nodes, graph.nnz, x_np.shape[1], max(hidden, self.dim),
                                  self.layers, dev)
            batch_size = None if fits else int(self.auto_batch_size)
        full = batch_size is None
        if not full:
            from graphembed_gnn.sampler import CSRNeighborSampler, in_neighbour_csr

            indptr, indices = in_neighbour_csr(graph)
            sampler = CSRNeighborSampler(indptr, indices, self.fanouts, seed=seed)

        def loss_of(z_u, z_v, z_w):
            pos = F.logsigmoid((z_u * z_v).sum(-1))
            neg = F.logsigmoid(-(z_u.unsqueeze(1) * z_w).sum(-1)).sum(1)
            return -(pos + neg).mean()

        bar = progress(self.epochs, "graphsage", self.verbose)
        net.train()
        for _ in range(self.epochs):
            order = rng.permutation(m)
            step = m if full else batch_size
            total = 0.0
            for start in range(0, m, step):
                batch = order[start:start + step]
                u, v = pos_src[batch], pos_dst[batch]
                w = rng.choice(graph.n_nodes, size=(batch.size, self.negatives), p=noise)
                optimizer.zero_grad(set_to_none=True)
                if full:
                    z = net(x, ei)
                    zu, zv, zw = z[torch.from_numpy(u).to(dev)], z[torch.from_numpy(v).to(dev)], \
                        z[torch.from_numpy(w).to(dev)]
                else:
                    nodes, inverse = np.unique(np.concatenate([u, v, w.ravel()]), return_inverse=True)
                    ids, local_ei, bs = sampler.sample(nodes)
                    ids_t = torch.from_numpy(ids).to(dev)
                    z = net(x[ids_t], torch.from_numpy(local_ei).to(dev))[:bs]
                    inv = torch.from_numpy(inverse).to(dev)
                    zu, zv = z[inv[:batch.size]], z[inv[batch.size:2 * batch.size]]
                    zw = z[inv[2 * batch.size:]].view(batch.size, self.negatives, -1)
                if full:
                    zw = zw.view(batch.size, self.negatives, -1)
                loss = loss_of(zu, zv, zw)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.size
            self.loss_ = total / m
            bar.update(1)
        bar.close()
        net.eval()
        with torch.no_grad():
            if full:
                z = net(x, ei)
            else:
                from graphembed_gnn.sampler import CSRNeighborSampler

                everyone = CSRNeighborSampler(indptr, indices, [-1] * self.layers, seed=seed)
                z = torch.empty((graph.n_nodes, self.dim), device=dev)
                for start in range(0, graph.n_nodes, 4 * batch_size):
                    nodes = np.arange(start, min(graph.n_nodes, start + 4 * batch_size))
                    ids, local_ei, bs = everyone.sample(nodes)
                    ids_t = torch.from_numpy(ids).to(dev)
                    z[ids_t[:bs]] = net(x[ids_t], torch.from_numpy(local_ei).to(dev))[:bs]
            if self.normalize:
                z = F.normalize(z, dim=1)
        self.model_ = net
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()
                  if k not in ("verbose",)}
        params.update(random_state=seed, device_used=str(dev), batching="full" if full else "mini",
                      fit_seconds=round(time.perf_counter() - t0, 3))
        if not isinstance(params["features"], str):
            params["features"] = "array"
        self.embedding_ = Embedding(graph.node_ids, z.float().cpu().numpy(), method="graphsage",
                                    params=params)
        return self


"""The networks: GCN, GraphSAGE, GAT (PyTorch Geometric layers) and GRAND (diffusion ODE).

References
----------
GCN: T. N. Kipf and M. Welling, "Semi-supervised classification with graph convolutional
networks", ICLR 2017. https://arxiv.org/abs/1609.02907
GraphSAGE: W. L. Hamilton, R. Ying and J. Leskovec, "Inductive representation learning on large
graphs", NeurIPS 2017. https://arxiv.org/abs/1706.02216
GAT: P. Velickovic et al., "Graph attention networks", ICLR 2018. https://arxiv.org/abs/1710.10903
GRAND: B. P. Chamberlain et al., "GRAND: Graph neural diffusion", ICML 2021.
https://arxiv.org/abs/2106.10934
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from graphembed_gnn.ode import SolverStats, odeint

MODELS = ("gcn", "sage", "gat", "grand")

# Defaults per model: the settings of each paper for Cora (GRAND: its published Cora run).
DEFAULTS = {
    "gcn": dict(hidden=16, layers=2, dropout=0.5, input_dropout=0.5, lr=0.01, weight_decay=5e-4,
                epochs=200, patience=None, optimizer="adam"),
    "sage": dict(hidden=64, layers=2, dropout=0.5, input_dropout=0.0, lr=0.01, weight_decay=5e-4,
                 epochs=200, patience=None, optimizer="adam"),
    "gat": dict(hidden=8, heads=8, layers=2, dropout=0.6, input_dropout=0.6, lr=0.005,
                weight_decay=5e-4, epochs=1000, patience=100, optimizer="adam"),
    "grand": dict(hidden=80, dropout=0.046878964627763316, input_dropout=0.5,
                  lr=0.022924849756740397, weight_decay=0.00507685443154266, epochs=100,
                  patience=None, optimizer="adamax", time=18.294754260552843, heads=8,
                  attention_dim=128, attention_type="scaled_dot", attention_norm="source",
                  attention_fn="squareplus", solver="dopri5", step_size=1.0,
                  rtol=821.9773048827274 * 1e-9, atol=821.9773048827274 * 1e-7),
}


class InputDropout(nn.Module):
    """Dropout of the input features that draws random numbers for the non-zero entries only.

    Takes a dense tensor or a sparse CSR one (then the result is sparse CSR too).

    Same distribution as ``F.dropout`` (a zero stays zero either way), but bag-of-words features
    (Cora: 1.3% non-zero) cost a few thousand random draws per step instead of millions.
    The non-zero positions are found once per input tensor and cached.
    """

    def __init__(self, p):
        super().__init__()
        self.p = float(p)
        self._cache = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if x.layout == torch.sparse_csr:  # stored sparse: drop stored values only
            values = x.values()
            keep = torch.rand(values.numel(), device=x.device) >= self.p
            return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(),
                                           values * keep.to(values.dtype) / (1.0 - self.p), x.shape)
        if x.requires_grad or x.dim() != 2:
            return F.dropout(x, self.p, True)
        key = (x.data_ptr(), tuple(x.shape), x._version)
        if self._cache is None or self._cache[0] != key:
            flat = x.reshape(-1)
            nz = torch.nonzero(flat, as_tuple=True)[0]
            dense_enough = nz.numel() > 0.25 * flat.numel()
            self._cache = (key, None if dense_enough else nz)
        nz = self._cache[1]
        if nz is None:
            return F.dropout(x, self.p, True)
        flat = x.reshape(-1).clone()
        keep = torch.rand(nz.numel(), device=x.device) >= self.p
        flat[nz] = flat[nz] * keep.to(flat.dtype) / (1.0 - self.p)
        return flat.view_as(x)


class _ConvStack(nn.Module):
    """Graph convolutions ``convs`` in turn, ``activation`` and dropout between them."""

    def __init__(self, convs, dropout, input_dropout, activation=F.relu):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.dropout, self.input_drop, self.activation = dropout, InputDropout(input_dropout), activation

    def first_layer_parameters(self):
        return list(self.convs[0].parameters())

    def forward(self, x, edge_index):
        x = self.input_drop(x)
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = F.dropout(self.activation(x), self.dropout, self.training)
        return x


def _chain(make_conv, in_dim, hidden, out_dim, layers):
    """``layers`` convolutions ``make_conv(a, b)`` from in_dim through hidden to out_dim."""
    dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
    return [make_conv(a, b) for a, b in zip(dims[:-1], dims[1:])]


class GCN(_ConvStack):
    """Kipf & Welling's GCN: ``layers`` GCNConv, ReLU and dropout between them."""

    def __init__(self, in_dim, hidden, out_dim, layers=2, dropout=0.5, input_dropout=0.5, cached=False):
        from torch_geometric.nn import GCNConv

        super().__init__(_chain(lambda a, b: GCNConv(a, b, cached=cached), in_dim, hidden, out_dim, layers),
                         dropout, input_dropout)


class SAGE(_ConvStack):
    """GraphSAGE with mean aggregation; the output layer is linear."""

    def __init__(self, in_dim, hidden, out_dim, layers=2, dropout=0.5, input_dropout=0.0):
        from torch_geometric.nn import SAGEConv

        super().__init__(_chain(SAGEConv, in_dim, hidden, out_dim, layers), dropout, input_dropout)


class GAT(_ConvStack):
    """Velickovic et al.'s GAT: ``heads`` x ``hidden`` ELU layer(s), one averaged output head."""

    def __init__(self, in_dim, hidden, out_dim, heads=8, layers=2, dropout=0.6, input_dropout=0.6,
                 out_heads=1):
        from torch_geometric.nn import GATConv

        convs, d = [], in_dim
        for _ in range(layers - 1):
            convs.append(GATConv(d, hidden, heads=heads, dropout=dropout))
            d = hidden * heads
        convs.append(GATConv(d, out_dim, heads=out_heads, concat=False, dropout=dropout))
        super().__init__(convs, dropout, input_dropout, activation=F.elu)


def quiet_sparse_warnings():
    """Silence torch's notes that sparse CSR support is in beta and that invariant checks are off
    (printed on the first sparse tensor built: the plugin builds them from valid indices)."""
    import warnings

    warnings.filterwarnings("ignore", message=".*[Ss]parse.*(beta|invariant)", category=UserWarning)


class _EdgePlan:
    """CSR layouts of one edge list (E,) = (src, dst) on n nodes, both ways: rows by target
    (``A z``) and rows by source (``A^T g``), with the edge order of each."""

    def __init__(self, src, dst, n):
        quiet_sparse_warnings()
        self.n = n
        self.by_target = self._layout(dst, src)
        self.by_source = self._layout(src, dst)

    def _layout(self, rows, cols):
        n = self.n
        order = torch.argsort(rows * n + cols)
        crow = torch.zeros(n + 1, dtype=torch.int64, device=rows.device)
        crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
        return order, crow, cols[order]

    def matrix(self, weights, transpose=False):
        order, crow, col = self.by_source if transpose else self.by_target
        return torch.sparse_csr_tensor(crow, col, weights[order], (self.n, self.n))


class _EdgeAggregate(torch.autograd.Function):
    """out[i] = sum over edges j -> i of w_e z[j]: a CSR product forward, A^T g and a sampled
    product <g_i, z_j> on the edge pattern backward. On the CPU 4-5x faster than gathering
    z[src] and scattering with index_add (which builds an (E, d) tensor both ways)."""

    @staticmethod
    def forward(ctx, weights, z, plan):
        a = plan.matrix(weights)
        ctx.save_for_backward(weights, z)
        ctx.plan, ctx.a = plan, a
        return a @ z

    @staticmethod
    def backward(ctx, grad):
        weights, z = ctx.saved_tensors
        plan = ctx.plan
        grad = grad.contiguous()
        grad_z = plan.matrix(weights, transpose=True) @ grad if ctx.needs_input_grad[1] else None
        grad_w = None
        if ctx.needs_input_grad[0]:
            # A's stored entries are the pattern; beta = 0 leaves their values out of the result
            sampled = torch.sparse.sampled_addmm(ctx.a, grad, z.t(), beta=0.0).values()
            grad_w = torch.empty_like(weights)
            grad_w[plan.by_target[0]] = sampled
        return grad_w, grad_z, None


def aggregate(weights, z, src, dst, plan=None):
    """(n, d): row i is sum over edges e = (src_e -> dst_e = i) of weights[e] * z[src_e].

    With ``plan`` (an :class:`_EdgePlan` of the same edges, CPU) through CSR products; without,
    by gather and ``index_add`` (the CUDA path)."""
    if plan is not None:
        return _EdgeAggregate.apply(weights, z, plan)
    return torch.zeros_like(z).index_add_(0, dst, weights.unsqueeze(1) * z[src])


class GRAND(nn.Module):
    """GRAND-l (Chamberlain et al. 2021): features diffused by dX/dt = alpha (A(X0) - I) X + beta X0.

    The input is encoded (dropout, linear to ``hidden``), diffused for time ``time`` on the graph
    with self-loops, then decoded (ReLU, dropout, linear). ``A`` is multi-head attention computed
    once per forward pass from the encoded features X0: per head, ``scaled_dot`` scores
    <W_q x_i, W_k x_j>/sqrt(d_k) or ``exp_kernel`` scores s^2 exp(-|W_q x_i - W_k x_j|^2 / (2 l^2))
    for the edge j -> i (i aggregates j), normalised over a group of edges, then the mean over
    heads. ``attention_fn`` is the normaliser: ``"softmax"`` (exp(s) / sum exp(s)) or
    ``"squareplus"`` (the authors' ``square_plus`` option: the scores are shifted by their
    maximum over all edges and heads, mapped by squareplus(s) = (s + sqrt(s^2 + 4)) / 2 and
    divided by their group sum). ``attention_norm`` says which group:

    * ``"source"`` (the authors' ``attention_norm_idx=1``): the out-edges of each source j, so
      every *column* of ``A`` sums to 1: a node hands out its features to its neighbours and the
      diffusion conserves their sum;
    * ``"target"``: the in-edges of each target i, so every *row* sums to 1 (a random walk with
      learnt transition probabilities, each node averaging its neighbours).

    As in the authors' code, the query and key weights start as the constant 1e-5 (so the
    attention starts nearly uniform and is learnt from there) and the source term uses X0 as a
    constant: no gradient flows through ``beta X0`` into the encoder, only through the initial
    value. ``alpha = sigmoid(a)`` and ``beta`` are learnt scalars (a = beta = 0 at the start).
    The ODE is integrated with :func:`graphembed_gnn.ode.odeint` (``solver``: "euler", "rk4" or
    adaptive "dopri5") and trained by backpropagating through the solver steps.
    """

    def __init__(self, in_dim, hidden, out_dim, time=18.3, heads=8, attention_dim=128,
                 attention_type="scaled_dot", dropout=0.05, input_dropout=0.5, solver="dopri5",
                 step_size=1.0, rtol=1e-4, atol=1e-4, add_source=True, attention_norm="source",
                 attention_fn="squareplus"):
        super().__init__()
        if attention_dim % heads:
            raise ValueError(f"attention_dim ({attention_dim}) must be a multiple of heads ({heads})")
        if attention_type not in ("scaled_dot", "exp_kernel"):
            raise ValueError(f"attention_type must be scaled_dot or exp_kernel, got {attention_type!r}")
        if attention_norm not in ("source", "target"):
            raise ValueError(f"attention_norm must be source or target, got {attention_norm!r}")
        if attention_fn not in ("softmax", "squareplus"):
            raise ValueError(f"attention_fn must be softmax or squareplus, got {attention_fn!r}")
        self.encoder = nn.Linear(in_dim, hidden)
        self.decoder = nn.Linear(hidden, out_dim)
        self.query = nn.Linear(hidden, attention_dim)
        self.key = nn.Linear(hidden, attention_dim)
        for layer in (self.query, self.key):
            nn.init.constant_(layer.weight, 1e-5)
        self.alpha_train = nn.Parameter(torch.tensor(0.0))
        self.beta_train = nn.Parameter(torch.tensor(0.0))
        if attention_type == "exp_kernel":
            self.output_var = nn.Parameter(torch.tensor(1.0))
            self.lengthscale = nn.Parameter(torch.tensor(1.0))
        self.heads, self.attention_type = heads, attention_type
        self.attention_norm, self.attention_fn = attention_norm, attention_fn
        self.time, self.solver, self.step_size = float(time), solver, float(step_size)
        self.rtol, self.atol, self.add_source = rtol, atol, add_source
        self.dropout, self.input_drop = dropout, InputDropout(input_dropout)
        self.stats = SolverStats()
        self._loops = None

    def first_layer_parameters(self):
        return list(self.encoder.parameters())

    def _with_self_loops(self, edge_index, n):
        from torch_geometric.utils import add_remaining_self_loops

        # keyed by the tensor itself (held, so its memory cannot be reused by another edge list)
        state = (edge_index._version, n)
        if self._loops is None or self._loops[0] is not edge_index or self._loops[1] != state:
            loops = add_remaining_self_loops(edge_index, num_nodes=n)[0]
            plan = _EdgePlan(loops[0], loops[1], n) if loops.device.type == "cpu" else None
            self._loops = (edge_index, state, loops, plan)
        return self._loops[2], self._loops[3]

    def attention(self, x, edge_index):
        """Edge weights (E,) of A: mean over heads of the scores normalised over each source's
        out-edges (``attention_norm="source"``) or each target's in-edges ("target")."""
        from torch_geometric.utils import softmax

        src, dst = edge_index
        n = x.shape[0]
        q = self.query(x).view(n, self.heads, -1)
        k = self.key(x).view(n, self.heads, -1)
        if self.attention_type == "scaled_dot":
            scores = (q[dst] * k[src]).sum(-1) / math.sqrt(q.shape[-1])
        else:
            dist = ((q[dst] - k[src]) ** 2).sum(-1)
            scores = self.output_var ** 2 * torch.exp(-dist / (2 * self.lengthscale ** 2))
        group = src if self.attention_norm == "source" else dst
        if self.attention_fn == "softmax":
            return softmax(scores, group, num_nodes=n).mean(dim=1)
        shifted = scores - scores.max()
        positive = (shifted + torch.sqrt(shifted * shifted + 4.0)) / 2
        sums = torch.zeros((n, positive.shape[1]), dtype=positive.dtype, device=positive.device)
        sums.index_add_(0, group, positive)
        return (positive / sums[group]).mean(dim=1)

    def forward(self, x, edge_index):
        n = x.shape[0]
        x = self.input_drop(x)
        x = self.encoder(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.dtype in (torch.float16, torch.bfloat16):
                x = x.float()
            ei, plan = self._with_self_loops(edge_index, n)
            weights = self.attention(x, ei)
            src, dst = ei
            alpha = torch.sigmoid(self.alpha_train)
            beta = self.beta_train
            x0 = x.detach()

            def diffusion(t, z):
                az = aggregate(weights, z, src, dst, plan)
                dz = alpha * (az - z)
                return dz + beta * x0 if self.add_source else dz

            self.stats = SolverStats()
            z = odeint(diffusion, x, self.time, method=self.solver, step_size=self.step_size,
                       rtol=self.rtol, atol=self.atol, stats=self.stats)
        z = F.dropout(F.relu(z), self.dropout, self.training)
        return self.decoder(z)


def build_model(name, in_dim, out_dim, full_batch=True, **params):
    """A model by name with :data:`DEFAULTS` overridden by ``params`` (None values ignored).

    Returns (model, settings) where settings are the merged hyperparameters.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    settings = dict(DEFAULTS[name])
    settings.update({k: v for k, v in params.items() if v is not None})
    s = settings
    if name == "gcn":
        model = GCN(in_dim, s["hidden"], out_dim, s["layers"], s["dropout"], s["input_dropout"],
                    cached=full_batch)
    elif name == "sage":
        model = SAGE(in_dim, s["hidden"], out_dim, s["layers"], s["dropout"], s["input_dropout"])
    elif name == "gat":
        model = GAT(in_dim, s["hidden"], out_dim, s["heads"], s["layers"], s["dropout"],
                    s["input_dropout"], s.get("out_heads", 1))
    else:
        model = GRAND(in_dim, s["hidden"], out_dim, s["time"], s["heads"], s["attention_dim"],
                      s["attention_type"], s["dropout"], s["input_dropout"], s["solver"],
                      s["step_size"], s["rtol"], s["atol"],
                      attention_norm=s.get("attention_norm", "source"),
                      attention_fn=s.get("attention_fn", "squareplus"))
    return model, settings

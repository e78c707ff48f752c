"""Numba kernels for edge curvature: triangles per edge (degree-oriented), the cost matrices between two
neighbourhoods (hop distances 0-3) and log-domain Sinkhorn. Arrays in, arrays out; the simple
undirected CSR (sorted rows, no self-loops) is trusted. Parallel loops write only their own
slots, so the output is the same for any thread count."""
import numba
import numpy as np
from numba import njit, prange


@njit(cache=True)
def _adjacent(indptr, indices, a, b):
    lo, hi = indptr[a], indptr[a + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < b:
            lo = mid + 1
        else:
            hi = mid
    return lo < indptr[a + 1] and indices[lo] == b


@njit(cache=True)
def _share(indptr, indices, a, b):
    """a and b have a common neighbour (sorted merge)."""
    i, j = indptr[a], indptr[b]
    ie, je = indptr[a + 1], indptr[b + 1]
    while i < ie and j < je:
        x, y = indices[i], indices[j]
        if x == y:
            return True
        if x < y:
            i += 1
        else:
            j += 1
    return False


@njit(cache=True)
def supports(indptr, indices, u, v, alpha):
    """The lazy random-walk measures of u and v: (nodes_u, mass_u, nodes_v, mass_v), the
    points of zero mass (alpha = 0: the centre) left out."""
    du = indptr[u + 1] - indptr[u]
    dv = indptr[v + 1] - indptr[v]
    start = 0 if alpha > 0 else 1
    su = np.empty(du + 1 - start, np.int64)
    mu = np.empty(du + 1 - start, np.float64)
    sv = np.empty(dv + 1 - start, np.int64)
    mv = np.empty(dv + 1 - start, np.float64)
    if start == 0:
        su[0], mu[0], sv[0], mv[0] = u, alpha, v, alpha
    for i in range(du):
        su[i + 1 - start] = indices[indptr[u] + i]
        mu[i + 1 - start] = (1.0 - alpha) / du
    for i in range(dv):
        sv[i + 1 - start] = indices[indptr[v] + i]
        mv[i + 1 - start] = (1.0 - alpha) / dv
    return su, mu, sv, mv


@njit(cache=True)
def hop_costs(indptr, indices, su, sv):
    """Shortest-path hop distances between every x in su and y in sv, where each x is u or a
    neighbour of u, each y is v or a neighbour of v and u ~ v: so at most 3 (x-u-v-y)."""
    c = np.empty((su.shape[0], sv.shape[0]), np.float64)
    for i in range(su.shape[0]):
        x = su[i]
        for j in range(sv.shape[0]):
            y = sv[j]
            if x == y:
                c[i, j] = 0.0
            elif _adjacent(indptr, indices, x, y):
                c[i, j] = 1.0
            elif _share(indptr, indices, x, y):
                c[i, j] = 2.0
            else:
                c[i, j] = 3.0
    return c


@njit(cache=True)
def _logsumexp(potential, cost, eps):
    """log sum_k exp((potential[k] - cost[k]) / eps), shifted by the maximum; ``cost`` a row or
    a column of the cost matrix."""
    m = -np.inf
    for k in range(potential.shape[0]):
        t = (potential[k] - cost[k]) / eps
        if t > m:
            m = t
    s = 0.0
    for k in range(potential.shape[0]):
        s += np.exp((potential[k] - cost[k]) / eps - m)
    return m + np.log(s)


@njit(cache=True)
def sinkhorn(a, b, c, eps, tol, max_iter):
    """Log-domain Sinkhorn with epsilon annealing (1, 1/2, ... down to ``eps``; the warm-up
    stages stop at an L1 marginal error of max(tol, 1e-3), the last at ``tol``), then the
    rounding of Altschuler, Weed and Rigollet (2017, Algorithm 2) onto the exact marginals.

    Returns (cost of the rounded plan, its bound): the plan is feasible, so the cost is >= the
    exact W1, and cost - W1 <= eps * log(len(a) * len(b)) + 3 * max(c) * err, err the L1 row
    marginal error of the last iterate (its columns are exact)."""
    na, nb = a.shape[0], b.shape[0]
    f = np.zeros(na)
    g = np.zeros(nb)
    la = np.log(a)
    lb = np.log(b)
    e = 1.0
    err = np.inf
    while True:
        if e < eps:
            e = eps
        stage_tol = tol if e == eps else max(tol, 1e-3)  # warm starts need not be tight
        for _ in range(max_iter):
            for i in range(na):
                f[i] = e * la[i] - e * _logsumexp(g, c[i, :], e)
            for j in range(nb):
                g[j] = e * lb[j] - e * _logsumexp(f, c[:, j], e)
            err = 0.0
            for i in range(na):
                r = 0.0
                for j in range(nb):
                    r += np.exp((f[i] + g[j] - c[i, j]) / e)
                err += abs(r - a[i])
            if err <= stage_tol:
                break
        if e == eps:
            break
        e *= 0.5
    p = np.empty((na, nb))
    for i in range(na):
        for j in range(nb):
            p[i, j] = np.exp((f[i] + g[j] - c[i, j]) / eps)
    # rounding: scale rows down, then columns down, then add the missing mass as a rank one
    for i in range(na):
        r = p[i].sum()
        if r > a[i]:
            p[i] *= a[i] / r
    for j in range(nb):
        s = p[:, j].sum()
        if s > b[j]:
            p[:, j] *= b[j] / s
    er = a - p.sum(axis=1)
    ec = b - p.sum(axis=0)
    total = np.abs(er).sum()
    cost = 0.0
    for i in range(na):
        for j in range(nb):
            q = p[i, j]
            if total > 0:
                q += er[i] * ec[j] / total
            cost += q * c[i, j]
    cmax = 0.0
    for i in range(na):
        for j in range(nb):
            if c[i, j] > cmax:
                cmax = c[i, j]
    bound = eps * np.log(na * nb) + 3.0 * cmax * err
    return cost, bound


@njit(cache=True, parallel=True)
def ollivier_sinkhorn(indptr, indices, src, dst, which, alpha, eps, tol, max_iter, kappa, bound):
    """kappa[e] = 1 - W1 for the edges ``which`` (positions in src/dst), by Sinkhorn."""
    for t in prange(which.shape[0]):
        e = which[t]
        su, mu, sv, mv = supports(indptr, indices, src[e], dst[e], alpha)
        c = hop_costs(indptr, indices, su, sv)
        w, b = sinkhorn(mu, mv, c, eps, tol, max_iter)
        kappa[e] = 1.0 - w
        bound[e] = b


@njit(cache=True, parallel=True)
def edge_ids(indptr, indices, eptr):
    """eid[p]: the id (position in the u < v row-order edge list) of the edge stored at p."""
    n = indptr.shape[0] - 1
    eid = np.empty(indices.shape[0], np.int64)
    for u in prange(n):
        first = indptr[u + 1] - (eptr[u + 1] - eptr[u])  # first upper entry of row u
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if v > u:
                eid[p] = eptr[u] + p - first
            else:
                lo, hi = indptr[v], indptr[v + 1]
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if indices[mid] < u:
                        lo = mid + 1
                    else:
                        hi = mid
                eid[p] = eptr[v] + lo - (indptr[v + 1] - (eptr[v + 1] - eptr[v]))
    return eid


@njit(cache=True, parallel=True)
def edge_triangles_oriented(oindptr, oindices, oeid, n_edges, n_blocks, n_threads):
    """Triangles per edge from the degree-oriented graph (each edge x -> y with (d_x, x) <
    (d_y, y)): every triangle is found once, from its lowest node, in
    O(sum over oriented edges of out-degree) = O(m^1.5) at worst, and added to its three edges
    in per-thread int32 counters summed at the end (integers: the same for any thread count)."""
    n = oindptr.shape[0] - 1
    acc = np.zeros((n_threads, n_edges), np.int32)
    for b in prange(n_blocks):
        tid = numba.get_thread_id()
        mark = np.full(n, -1, np.int64)
        for x in range(b, n, n_blocks):
            for p in range(oindptr[x], oindptr[x + 1]):
                mark[oindices[p]] = oeid[p]
            for p in range(oindptr[x], oindptr[x + 1]):
                y = oindices[p]
                for q in range(oindptr[y], oindptr[y + 1]):
                    exz = mark[oindices[q]]
                    if exz >= 0:
                        acc[tid, oeid[p]] += 1
                        acc[tid, oeid[q]] += 1
                        acc[tid, exz] += 1
            for p in range(oindptr[x], oindptr[x + 1]):
                mark[oindices[p]] = -1
    out = np.zeros(n_edges, np.int64)
    for e in prange(n_edges):
        s = 0
        for t in range(n_threads):
            s += acc[t, e]
        out[e] = s
    return out

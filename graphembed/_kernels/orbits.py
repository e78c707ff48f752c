"""Graphlet orbit kernels (2-4-node graphlets): pure array code, numba only.

Every kernel takes a simple undirected graph in CSR form whose nodes are *ranked*: node ids
are sorted by (degree, original index), so for an edge (v, u) with u < v, u has the smaller
degree. Rows are sorted, so the neighbours of v ranked below v are a prefix of its row.

The approach is the combinatorial one of Hocevar and Demsar (ORCA, Bioinformatics 2014):
count triangles per edge, enumerate 4-cliques once each (highest-ranked node first), count
4-cycles through each edge from wedges, and derive every other count from closed formulas on
degrees and triangle counts; the solve from non-induced to induced counts is done by the
caller with a fixed integer matrix.

Adjacency tests are O(1) without an n x n bitset: while node v is processed, an int64 array
of length n holds, for each neighbour x of v, the CSR position of (v, x) (and -1 or a
position of another row otherwise), so a test is one load and a range check, and the edge
id comes with it.

Work is split into ``n_blocks`` strided node blocks (node v goes to block v % n_blocks) so
that hubs spread over the threads; counts that land on edges of other nodes go to
per-thread accumulators (``numba.get_thread_id``), summed by the caller. All counts are
integers, so results do not depend on the thread count.
"""
import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def reverse_positions(indptr, indices):
    """int64 (nnz,): rev[p] = position of edge (u, v) for p = position of (v, u)."""
    n = indptr.shape[0] - 1
    rev = np.empty(indices.shape[0], np.int64)
    for v in prange(n):
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            lo, hi = indptr[u], indptr[u + 1]
            while lo < hi:  # binary search v in the sorted row of u
                mid = (lo + hi) >> 1
                if indices[mid] < v:
                    lo = mid + 1
                else:
                    hi = mid
            rev[p] = lo
    return rev


def edge_triangles(indptr, indices, rev, n_blocks):
    """int64 (nnz,): triangles through each stored edge (same value in both directions)."""
    tri = edge_triangles_rows(indptr, indices, 0, indptr.shape[0] - 1, n_blocks)
    mirror_lower(indptr, indices, rev, tri, tri)
    return tri


def edge_aggregates(indptr, indices, rev, tri, degree, n_blocks, n_threads):
    """Per-edge sums over common neighbours, 4-cliques and 4-cycles of the whole graph.

    Returns
    -------
    dsum : int64 (nnz,) sum of degrees of the common neighbours of (v, u).
    far : int64 (nnz,) for position p = (v, u): sum over common neighbours x of t(u, x).
    k4_acc, c4_acc : as :func:`edge_aggregates_rows`.
    """
    dsum, far, far_rev, k4_acc, c4_acc = edge_aggregates_rows(
        indptr, indices, tri, degree, 0, indptr.shape[0] - 1, n_blocks, n_threads)
    mirror_lower(indptr, indices, rev, dsum, dsum)
    mirror_lower(indptr, indices, rev, far_rev, far)
    return dsum, far, k4_acc, c4_acc


@njit(cache=True, parallel=True)
def mirror_lower(indptr, indices, rev, lower, out):
    """out[rev[p]] = lower[p] at every lower edge p = (v, u), u < v (the upper positions of
    ``out``; ``out`` may be ``lower``)."""
    for v in prange(indptr.shape[0] - 1):
        for p in range(indptr[v], indptr[v + 1]):
            if indices[p] >= v:
                break
            out[rev[p]] = lower[p]


@njit(cache=True, parallel=True)
def edge_triangles_rows(indptr, indices, lo, hi, n_blocks):
    """int64 (indptr[hi] - indptr[lo],): triangles through each lower edge (v, u), u < v, of the
    rows lo:hi (0 at their upper edges); position p of the graph is entry p - indptr[lo]."""
    n = indptr.shape[0] - 1
    base = indptr[lo]
    tri = np.zeros(indptr[hi] - base, np.int64)
    for b in prange(n_blocks):
        mark = np.full(n, -1, np.int64)
        for v in range(lo + b, hi, n_blocks):
            start, stop = indptr[v], indptr[v + 1]
            for p in range(start, stop):
                mark[indices[p]] = p
            for p in range(start, stop):
                u = indices[p]
                if u >= v:
                    break
                cnt = 0
                for q in range(indptr[u], indptr[u + 1]):
                    m = mark[indices[q]]
                    if m >= start and m < stop:
                        cnt += 1
                tri[p - base] = cnt
    return tri


@njit(cache=True, parallel=True)
def edge_aggregates_rows(indptr, indices, tri, degree, lo, hi, n_blocks, n_threads):
    """Per-edge sums over common neighbours, 4-cliques and 4-cycles, from the rows lo:hi.

    Returns
    -------
    dsum, far, far_rev : int64 (indptr[hi] - indptr[lo],), over the rows' own positions, at each
        lower edge p = (v, u), u < v: the sum of degrees of the common neighbours of (v, u);
        the sum over common neighbours x of t(u, x) (far[p]); of t(v, x) (far at rev[p]).
        0 at the upper edges.
    k4_acc : int64 (n_threads, nnz) 4-cliques per edge of the whole graph, each clique-edge
        added to one of the edge's two positions (the caller adds acc[p] + acc[rev[p]]).
    c4_acc : int64 (n_threads, nnz) non-induced 4-cycles per edge, same convention.
    """
    n = indptr.shape[0] - 1
    nnz = indices.shape[0]
    base = indptr[lo]
    seg = indptr[hi] - base
    dsum = np.zeros(seg, np.int64)
    far = np.zeros(seg, np.int64)
    far_rev = np.zeros(seg, np.int64)
    k4_acc = np.zeros((n_threads, nnz), np.int64)
    c4_acc = np.zeros((n_threads, nnz), np.int64)
    for b in prange(n_blocks):
        tid = numba.get_thread_id()
        mark = np.full(n, -1, np.int64)
        lst = np.empty(n, np.int64)
        mark2 = np.full(n, -1, np.int64)
        wedge = np.zeros(n, np.int64)
        touched = np.empty(n, np.int64)
        for v in range(lo + b, hi, n_blocks):
            start, stop = indptr[v], indptr[v + 1]
            for p in range(start, stop):
                mark[indices[p]] = p
            for p in range(start, stop):
                u = indices[p]
                if u >= v:
                    break
                ds = 0
                sum_u = 0
                sum_v = 0
                nl = 0
                for q in range(indptr[u], indptr[u + 1]):
                    x = indices[q]
                    m = mark[x]
                    if m >= start and m < stop:
                        ds += degree[x]
                        sum_u += tri[q]
                        sum_v += tri[m]
                        if x < u:
                            lst[nl] = x
                            nl += 1
                            mark2[x] = q
                dsum[p - base] = ds
                far[p - base] = sum_u
                far_rev[p - base] = sum_v
                ustart, ustop = indptr[u], indptr[u + 1]
                k_vu = 0
                for i in range(nl):
                    x = lst[i]
                    k_x = 0
                    for r in range(indptr[x], indptr[x + 1]):
                        y = indices[r]
                        if y >= x:
                            break
                        m2 = mark2[y]
                        if m2 >= ustart and m2 < ustop:
                            k_x += 1
                            k4_acc[tid, mark[y]] += 1
                            k4_acc[tid, m2] += 1
                            k4_acc[tid, r] += 1
                    if k_x:
                        k_vu += k_x
                        k4_acc[tid, mark[x]] += k_x
                        k4_acc[tid, mark2[x]] += k_x
                k4_acc[tid, p] += k_vu
                for i in range(nl):
                    mark2[lst[i]] = -1
            nt = 0
            for p in range(start, stop):
                u = indices[p]
                if u >= v:
                    break
                for q in range(indptr[u], indptr[u + 1]):
                    w = indices[q]
                    if w >= v:
                        break
                    if wedge[w] == 0:
                        touched[nt] = w
                        nt += 1
                    wedge[w] += 1
            for p in range(start, stop):
                u = indices[p]
                if u >= v:
                    break
                for q in range(indptr[u], indptr[u + 1]):
                    w = indices[q]
                    if w >= v:
                        break
                    extra = wedge[w] - 1
                    if extra > 0:
                        c4_acc[tid, p] += extra
                        c4_acc[tid, q] += extra
            for i in range(nt):
                wedge[touched[i]] = 0
    return dsum, far, far_rev, k4_acc, c4_acc


@njit(cache=True, parallel=True)
def sum_threads(acc, rev):
    """acc (T, nnz) -> int64 (nnz,): per-edge total, both directions added."""
    nnz = acc.shape[1]
    tot = np.zeros(nnz, np.int64)
    for p in prange(nnz):
        s = 0
        for t in range(acc.shape[0]):
            s += acc[t, p]
        tot[p] = s
    out = np.empty(nnz, np.int64)
    for p in prange(nnz):
        out[p] = tot[p] + tot[rev[p]]
    return out


@njit(cache=True, parallel=True)
def row_sums(indptr, values):
    """values (nnz, k) -> int64 (n, k): sum over each CSR row."""
    n = indptr.shape[0] - 1
    k = values.shape[1]
    out = np.zeros((n, k), np.int64)
    for v in prange(n):
        for p in range(indptr[v], indptr[v + 1]):
            for j in range(k):
                out[v, j] += values[p, j]
    return out


@njit(cache=True, parallel=True)
def relabel(indptr, indices, order, rank, new_indptr):
    """Rows in ``order`` with columns renamed by ``rank`` and re-sorted.

    Returns (new_indices int32, orig_pos int64): orig_pos[p] = position in the input CSR of
    the edge stored at position p of the output.
    """
    n = indptr.shape[0] - 1
    new_indices = np.empty(indices.shape[0], np.int32)
    orig_pos = np.empty(indices.shape[0], np.int64)
    for i in prange(n):
        v = order[i]
        s, e = indptr[v], indptr[v + 1]
        cols = np.empty(e - s, np.int64)
        for p in range(s, e):
            cols[p - s] = rank[indices[p]]
        perm = np.argsort(cols)
        o = new_indptr[i]
        for j in range(e - s):
            new_indices[o + j] = cols[perm[j]]
            orig_pos[o + j] = s + perm[j]
    return new_indices, orig_pos


@njit(cache=True, parallel=True)
def noninduced_counts(indptr, indices, rev, tri, degree, dsum, far, k4, c4):
    """int64 (nnz, 15): non-induced copies of each 4-node directed edge type per edge (v, u).

    Column order (v's orbit, u's orbit): (4,5) (5,4) (5,5) (6,7) (7,6) (8,8) (9,11) (11,9)
    (10,11) (11,10) (10,10) (12,13) (13,12) (13,13) (14,14). With t = t(v, u),
    S(x) = sum_{y in N(x)} (d_y - 1) and T(x) the triangles at x:
    (4,5) S(u) - (d_v - 1) - t; (5,5) (d_v - 1)(d_u - 1) - t; (6,7) C(d_u - 1, 2);
    (8,8) 4-cycles through the edge; (9,11) T(u) - t; (10,11) t (d_u - 2);
    (10,10) sum_{x in C} d_x - 2t; (12,13) sum_{x in C} (t(u, x) - 1); (13,13) C(t, 2);
    (14,14) 4-cliques through the edge; the transposed types swap v and u.
    """
    n = indptr.shape[0] - 1
    s = np.zeros(n, np.int64)
    tv = np.zeros(n, np.int64)
    for v in prange(n):
        a = 0
        b = 0
        for p in range(indptr[v], indptr[v + 1]):
            a += degree[indices[p]] - 1
            b += tri[p]
        s[v] = a
        tv[v] = b // 2
    out = np.empty((indices.shape[0], 15), np.int64)
    for v in prange(n):
        dv = degree[v]
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            du = degree[u]
            t = tri[p]
            o = out[p]
            o[0] = s[u] - (dv - 1) - t
            o[1] = s[v] - (du - 1) - t
            o[2] = (dv - 1) * (du - 1) - t
            o[3] = (du - 1) * (du - 2) // 2
            o[4] = (dv - 1) * (dv - 2) // 2
            o[5] = c4[p]
            o[6] = tv[u] - t
            o[7] = tv[v] - t
            o[8] = t * (du - 2)
            o[9] = t * (dv - 2)
            o[10] = dsum[p] - 2 * t
            o[11] = far[p] - t
            o[12] = far[rev[p]] - t
            o[13] = t * (t - 1) // 2
            o[14] = k4[p]
    return out


@njit(cache=True, parallel=True)
def noninduced_node_sums(indptr, indices, rev, tri, degree, dsum, far, k4, c4):
    """int64 (n, 17): per-node row sums of :func:`noninduced_counts` (columns 0-14), then
    sum_{u in N(v)} (d_u - 1) (column 15) and the triangles at v (column 16), without the
    (nnz, 15) intermediate."""
    n = indptr.shape[0] - 1
    s = np.zeros(n, np.int64)
    tv = np.zeros(n, np.int64)
    for v in prange(n):
        a = 0
        b = 0
        for p in range(indptr[v], indptr[v + 1]):
            a += degree[indices[p]] - 1
            b += tri[p]
        s[v] = a
        tv[v] = b // 2
    out = np.zeros((n, 17), np.int64)
    for v in prange(n):
        dv = degree[v]
        o = out[v]
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            du = degree[u]
            t = tri[p]
            o[0] += s[u] - (dv - 1) - t
            o[1] += s[v] - (du - 1) - t
            o[2] += (dv - 1) * (du - 1) - t
            o[3] += (du - 1) * (du - 2) // 2
            o[4] += (dv - 1) * (dv - 2) // 2
            o[5] += c4[p]
            o[6] += tv[u] - t
            o[7] += tv[v] - t
            o[8] += t * (du - 2)
            o[9] += t * (dv - 2)
            o[10] += dsum[p] - 2 * t
            o[11] += far[p] - t
            o[12] += far[rev[p]] - t
            o[13] += t * (t - 1) // 2
            o[14] += k4[p]
        o[15] = s[v]
        o[16] = tv[v]
    return out


# --------------------------------------------------------------------------- node pairs
# Columns of the pair kernel (u, w not adjacent), see graphembed.structure.orbits.
PAIR_COLUMNS = 9


@njit(cache=True, parallel=True)
def pair_block(indptr, indices, tri, degree, row_start, row_stop, three_hop, n_chunks, out):
    """Two- and three-hop orbit adjacencies of rows [row_start, row_stop) into ``out``.

    out : int64 (row_stop - row_start, n, 9), zero on entry; for every non-adjacent pair
    (u, w), u != w, the columns hold
    0 (2,1,1)  1 (2,4,5)  2 (2,5,4)  3 (2,6,6)  4 (2,8,8)  5 (2,9,10)  6 (2,10,9)
    7 (2,12,12)  8 (3,4,4, only when ``three_hop``)
    with u on the first orbit and w on the second. With C = N(u) & N(w), c = |C|, E(C) the
    edges among C, S_u = sum_{x in C} t(u, x), S_w = sum_{x in C} t(w, x) and P = (A^3)[u, w]:
    (1,1) = c; (4,5) = c (d_w - c) - S_w + 2 E(C); (6,6) = sum_{x in C} d_x - 2c - S_u - S_w
    + 2 E(C); (8,8) = C(c, 2) - E(C); (9,10) = S_w - 2 E(C); (12,12) = E(C);
    (4,4) = P - S_u - S_w + 2 E(C).
    """
    n = indptr.shape[0] - 1
    n_rows = row_stop - row_start
    for chunk in prange(n_chunks):
        inu = np.zeros(n, np.bool_)
        markx = np.zeros(n, np.bool_)
        c = np.zeros(n, np.int64)
        sw = np.zeros(n, np.int64)
        su = np.zeros(n, np.int64)
        dx = np.zeros(n, np.int64)
        ec = np.zeros(n, np.int64)
        p3 = np.zeros(n, np.int64)
        touched = np.empty(n, np.int64)
        for row in range(chunk, n_rows, n_chunks):
            u = row_start + row
            du = degree[u]
            nt = 0
            for p in range(indptr[u], indptr[u + 1]):
                inu[indices[p]] = True
            for p in range(indptr[u], indptr[u + 1]):
                x = indices[p]
                tux = tri[p]
                dgx = degree[x]
                for q in range(indptr[x], indptr[x + 1]):
                    w = indices[q]
                    if w == u:
                        continue
                    if c[w] == 0:
                        touched[nt] = w
                        nt += 1
                    c[w] += 1
                    sw[w] += tri[q]
                    su[w] += tux
                    dx[w] += dgx
            # edges among common neighbours: for each triangle (u, x, y), every w in
            # N(x) & N(y) other than u gains one; the row of x is marked and the row of the
            # lower-degree y scanned, so each pair (x, y) is seen once at min(d_x, d_y) cost
            for p in range(indptr[u], indptr[u + 1]):
                x = indices[p]
                if tri[p] == 0:
                    continue
                dgx = degree[x]
                for q in range(indptr[x], indptr[x + 1]):
                    markx[indices[q]] = True
                for q in range(indptr[x], indptr[x + 1]):
                    y = indices[q]
                    if not inu[y] or degree[y] > dgx or (degree[y] == dgx and y >= x):
                        continue
                    for r in range(indptr[y], indptr[y + 1]):
                        w = indices[r]
                        if markx[w] and w != u:
                            ec[w] += 1
                for q in range(indptr[x], indptr[x + 1]):
                    markx[indices[q]] = False
            if three_hop:
                # walks u - x - y - w: p3[w] = sum over y in N(w) of c[y]
                nt2 = nt
                for i in range(nt2):
                    y = touched[i]
                    cy = c[y]
                    for q in range(indptr[y], indptr[y + 1]):
                        w = indices[q]
                        if w == u:
                            continue
                        if c[w] == 0 and p3[w] == 0:
                            touched[nt] = w
                            nt += 1
                        p3[w] += cy
            for i in range(nt):
                w = touched[i]
                if not inu[w]:
                    cw = c[w]
                    e = ec[w]
                    dw = degree[w]
                    out[row, w, 0] = cw
                    out[row, w, 1] = cw * (dw - cw) - sw[w] + 2 * e
                    out[row, w, 2] = cw * (du - cw) - su[w] + 2 * e
                    out[row, w, 3] = dx[w] - 2 * cw - su[w] - sw[w] + 2 * e
                    out[row, w, 4] = cw * (cw - 1) // 2 - e
                    out[row, w, 5] = sw[w] - 2 * e
                    out[row, w, 6] = su[w] - 2 * e
                    out[row, w, 7] = e
                    if three_hop:
                        out[row, w, 8] = p3[w] - sw[w] - su[w] + 2 * e
                c[w] = 0
                sw[w] = 0
                su[w] = 0
                dx[w] = 0
                ec[w] = 0
                p3[w] = 0
            for p in range(indptr[u], indptr[u + 1]):
                inu[indices[p]] = False

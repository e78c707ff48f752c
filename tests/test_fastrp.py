"""FastRP against an independent dense numpy evaluation of the paper's formula."""
import numpy as np
import pytest

import graphembed as ge
from graphembed.io.errors import InputError


def dense_reference(graph, est, features_part=None):
    """E = s*norm(X0) + sum_k w_k norm(M^k X0) in float64, from the fitted estimator's R."""
    a = graph.to_scipy().toarray().astype(np.float64)
    n = graph.n_nodes
    deg = a.sum(axis=1)
    beta = est.normalization_strength
    scale = np.where(deg > 0, np.power(np.where(deg > 0, deg, 1.0), beta), 1.0)
    x = scale[:, None] * est.projection_matrix(n).astype(np.float64)
    if features_part is not None:
        x = np.hstack([x, features_part])
    if est.propagation == "transition":
        m = np.divide(a, deg[:, None], out=np.zeros_like(a), where=deg[:, None] > 0)
    else:
        m = a
    emb = est.node_self_influence * row_normalize(x)
    for w in est.iteration_weights:
        x = m @ x
        emb = emb + w * row_normalize(x)
    return emb


def row_normalize(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def random_graph(rng, n=60, m=240, weighted=False, directed=False):
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.uniform(0.1, 3.0, m) if weighted else None
    return ge.Graph.from_edges(src, dst, w, directed=directed, nodes=np.arange(n))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("propagation", ["transition", "adjacency"])
def test_matches_dense_reference(rng, weighted, directed, propagation):
    g = random_graph(rng, weighted=weighted, directed=directed)
    est = ge.FastRP(dim=32, iteration_weights=[0.5, 1.0, 2.0, 0.25], normalization_strength=-0.6,
                    node_self_influence=0.3, propagation=propagation, random_state=3, n_jobs=1)
    emb = est.fit_transform(g)
    ref = dense_reference(g, est)
    assert emb.vectors.dtype == np.float32 and emb.vectors.shape == (g.n_nodes, 32)
    np.testing.assert_allclose(emb.vectors, ref, rtol=2e-4, atol=2e-5)


def test_paper_settings_match_reference(rng):
    g = random_graph(rng, n=200, m=1500)
    est = ge.FastRP(dim=64, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628,
                    random_state=0)
    np.testing.assert_allclose(est.fit_transform(g).vectors, dense_reference(g, est), rtol=1e-3, atol=1e-3)


def test_many_adjacency_steps_do_not_overflow(rng):
    g = random_graph(rng, n=100, m=3000)
    est = ge.FastRP(dim=16, iteration_weights=[1.0] * 40, propagation="adjacency", random_state=1)
    emb = est.fit_transform(g)
    assert np.all(np.isfinite(emb.vectors))


def test_thread_count_does_not_change_bits(rng):
    g = random_graph(rng, n=500, m=4000, weighted=True)
    one = ge.FastRP(dim=64, random_state=7, n_jobs=1).fit_transform(g).vectors
    two = ge.FastRP(dim=64, random_state=7, n_jobs=2).fit_transform(g).vectors
    assert np.array_equal(one, two)


def test_seed_reproduces_and_differs(rng):
    g = random_graph(rng)
    a = ge.FastRP(dim=16, random_state=1).fit_transform(g).vectors
    b = ge.FastRP(dim=16, random_state=1).fit_transform(g).vectors
    c = ge.FastRP(dim=16, random_state=2).fit_transform(g).vectors
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_uniform_weights_equal_unweighted_and_others_differ(rng):
    src, dst = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    plain = ge.Graph.from_edges(src, dst)
    doubled = ge.Graph.from_edges(src, dst, np.full(300, 2.0))
    varied = ge.Graph.from_edges(src, dst, rng.uniform(0.1, 5.0, 300))
    est = dict(dim=32, random_state=0)
    e_plain = ge.FastRP(**est).fit_transform(plain).vectors
    np.testing.assert_allclose(ge.FastRP(**est).fit_transform(doubled).vectors, e_plain, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ge.FastRP(**est).fit_transform(varied).vectors, e_plain, atol=1e-3)


def test_isolated_nodes_get_finite_vectors():
    g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0], nodes=[0, 1, 2, 3, 4])
    emb = ge.FastRP(dim=8, normalization_strength=-0.5, node_self_influence=1.0, random_state=0).fit_transform(g)
    assert np.all(np.isfinite(emb.vectors))
    assert np.linalg.norm(emb[3]) > 0  # its own random vector through self-influence
    emb0 = ge.FastRP(dim=8, random_state=0).fit_transform(g)
    assert np.all(emb0[4] == 0)


def test_features_fill_the_property_columns(rng):
    g = random_graph(rng, n=40, m=150)
    est = ge.FastRP(dim=24, property_dimension=8, random_state=0)
    emb = est.fit_transform(g, features=np.zeros((40, 5)))
    assert np.all(emb.vectors[:, 16:] == 0)  # zero features project to zero
    emb2 = ge.FastRP(dim=24, property_dimension=8, random_state=0).fit_transform(
        g, features=rng.normal(size=(40, 5)))
    assert np.abs(emb2.vectors[:, 16:]).sum() > 0
    with pytest.raises(InputError):
        ge.FastRP(dim=8).fit(g, features=np.zeros((39, 5)))


def new_node_reference(graph, est, src, dst, weights=None, feature_part=None):
    """(new ids, embedding) of the new nodes, from the formula in transform_new's docstring.

    Dense float64, independent of the estimator's code: an (n + m) square matrix whose first n
    rows are the fitted adjacency (unchanged: new nodes do not feed back) and whose last m rows
    hold the new nodes' edges to fitted and to new nodes; X_0 is the fitted one on the first n
    rows and zero on the new rows; E_new = sum_k w_k norm((M^k X_0)[new rows]).
    """
    n = graph.n_nodes
    known = {v: i for i, v in enumerate(graph.node_ids.tolist())}
    new_ids = []
    for s, d in zip(src, dst):  # new ids in order of first appearance, as transform_new
        s_new, d_new = s not in known, d not in known
        if s_new and d_new:
            if s == d:
                continue
            new_ids += [v for v in (s, d) if v not in new_ids]
        elif s_new or (d_new and not graph.directed):
            v = s if s_new else d
            if v not in new_ids:
                new_ids.append(v)
    index = dict(known, **{v: n + i for i, v in enumerate(new_ids)})
    size = n + len(new_ids)
    u = np.zeros((size, size))
    u[:n, :n] = graph.to_scipy().toarray()
    for e, (s, d) in enumerate(zip(src, dst)):
        if (s in known and d in known) or s == d or s not in index or d not in index:
            continue
        if graph.directed and s in known:
            continue
        if s in known:  # the new node's row holds the edge
            s, d = d, s
        w = 1.0 if weights is None else weights[e]
        u[index[s], index[d]] = w if weights is None else u[index[s], index[d]] + w
        if d not in known and not graph.directed:
            u[index[d], index[s]] = u[index[s], index[d]]
    deg = u.sum(axis=1)
    safe = np.where(deg > 0, deg, 1.0)
    x = np.zeros((size, est.dim))
    random_part = np.where(deg[:n] > 0, safe[:n] ** est.normalization_strength, 1.0)[:, None] \
        * est.projection_matrix(n).astype(np.float64)
    x[:n, :random_part.shape[1]] = random_part
    if feature_part is not None:
        x[:n, random_part.shape[1]:] = feature_part
    m = u / safe[:, None] if est.propagation == "transition" else u
    emb = np.zeros((len(new_ids), est.dim))
    for w in est.iteration_weights:
        x = m @ x
        emb += w * row_normalize(x[n:])
    return new_ids, emb


def new_node_edges(rng, n_known, n_new, per_node=4):
    new_ids = [f"new{i}" for i in range(n_new)]
    src, dst = [], []
    for v in new_ids:
        for j in rng.choice(n_known, per_node, replace=False):
            if rng.random() < 0.5:
                src.append(v); dst.append(int(j))
            else:  # either order
                src.append(int(j)); dst.append(v)
    src += ["new0", "new2", "x", "new1"]; dst += ["new1", "new3", "new4", "new1"]  # among new; self-loop
    src.append(0); dst.append(1)  # between known nodes: ignored
    return src, dst


def unknown(graph, src, dst):
    """The ids of an edge list that are not nodes of ``graph`` (the ``new`` of transform_new)."""
    known = set(graph.node_ids.tolist())
    return [v for v in dict.fromkeys(list(src) + list(dst)) if v not in known]


@pytest.mark.parametrize("density", ["auto", 0.5])  # sparse and dense first step
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("propagation", ["transition", "adjacency"])
def test_transform_new_matches_dense_formula(rng, weighted, propagation, density):
    g = random_graph(rng, n=50, m=300, weighted=weighted)
    est = ge.FastRP(dim=16, iteration_weights=[1.0, 2.0, 0.5, 3.0], normalization_strength=-0.3,
                    propagation=propagation, node_self_influence=0.7, density=density, random_state=4,
                    n_jobs=1).fit(g)
    src, dst = new_node_edges(rng, 50, 6)
    weights = rng.uniform(0.5, 2.0, len(src)) if weighted else None
    ids, ref = new_node_reference(g, est, src, dst, weights)
    out = est.transform_new(src, dst, weights, new=unknown(g, src, dst))
    assert list(out.node_ids) == ids and "x" in ids
    np.testing.assert_allclose(out.vectors, ref, rtol=2e-4, atol=2e-5)


def test_transform_new_with_features_keeps_the_fitted_feature_rows(rng):
    g = random_graph(rng, n=40, m=160)
    features = rng.normal(size=(40, 3))
    est = ge.FastRP(dim=16, property_dimension=6, iteration_weights=[1.0, 1.0], normalization_strength=-0.5,
                    random_state=5).fit(g, features=features)
    src, dst = new_node_edges(rng, 40, 5)
    # The oracle's X_0 on the fitted nodes: degree-scaled random part, then features @ P (P from
    # seed + 1, as fit draws it); new nodes' rows stay zero.
    p = np.empty((3, 6), np.float32)
    from graphembed._kernels.spmm import sparse_sign_rows
    sparse_sign_rows(3, 0, max(1 / np.sqrt(3), 3 / 6), 6, np.ones(3), p)
    ids, ref = new_node_reference(g, est, src, dst, feature_part=features @ p.astype(np.float64))
    np.testing.assert_allclose(est.transform_new(src, dst, new=unknown(g, src, dst)).vectors, ref,
                               rtol=2e-4, atol=2e-5)


def test_transform_new_directed_uses_out_edges_only(rng):
    g = random_graph(rng, n=40, m=200, directed=True)
    est = ge.FastRP(dim=16, iteration_weights=[1.0, 1.0, 2.0], normalization_strength=-0.5,
                    random_state=1).fit(g)
    src, dst = new_node_edges(rng, 40, 5)
    ids, ref = new_node_reference(g, est, src, dst)
    out = est.transform_new(src, dst, new=unknown(g, src, dst))
    assert list(out.node_ids) == ids
    np.testing.assert_allclose(out.vectors, ref, rtol=2e-4, atol=2e-5)


def test_transform_new_is_local_and_thread_independent(rng):
    # Two components: new nodes attached to the first never read the second, and rows beyond
    # q - 1 hops are not propagated; the result still equals the dense formula on the whole graph.
    a = random_graph(rng, n=80, m=200)
    src, dst = a.to_scipy().nonzero()
    path = np.arange(80, 200)  # a long path: most of it is further than q hops from node 80
    g = ge.Graph.from_edges(np.concatenate([src, path[:-1]]), np.concatenate([dst, path[1:]]),
                            nodes=np.arange(200))
    est = ge.FastRP(dim=32, iteration_weights=[0.0, 1.0, 1.0], random_state=2, n_jobs=1).fit(g)
    s, d = ["a", "a", "b", "b", "c"], [3, 7, 85, "a", 199]
    ids, ref = new_node_reference(g, est, s, d)
    one = est.transform_new(s, d)
    np.testing.assert_allclose(one.vectors, ref, rtol=2e-4, atol=2e-5)
    two = ge.FastRP(dim=32, iteration_weights=[0.0, 1.0, 1.0], random_state=2, n_jobs=2).fit(g)
    assert np.array_equal(two.transform_new(s, d).vectors, one.vectors)


def test_hop_distances_and_row_subset_kernels(rng):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import shortest_path

    from graphembed._kernels.fastrp_new import hop_distances, propagate_rows

    n, m = 60, 4
    base = sp.random(n, n, density=0.03, random_state=1, format="csr", dtype=np.float32)
    ext = sp.vstack([sp.csr_matrix((n, n + m), dtype=np.float32),
                     sp.random(m, n + m, density=0.05, random_state=2, format="csr", dtype=np.float32)]).tocsr()
    union = (sp.bmat([[base, None], [None, sp.csr_matrix((m, m))]]) + ext).tocsr()
    bfs = shortest_path(union, unweighted=True, indices=np.arange(n, n + m)).min(axis=0)
    ext_indptr, ext_indices = ext.indptr.astype(np.int64), ext.indices.astype(np.int32)
    for hops in (0, 1, 3):
        dist = hop_distances(base.indptr.astype(np.int64), base.indices, ext_indptr, ext_indices, n, hops)
        np.testing.assert_array_equal(dist, np.where(bfs <= hops, bfs, hops + 1))
    x = rng.normal(size=(n + m, 5)).astype(np.float32)
    out = np.full_like(x, np.nan)
    rows = np.array([0, 7, n + 1], dtype=np.int64)
    scale = rng.uniform(0.5, 2.0, n + m)
    propagate_rows(rows, base.indptr.astype(np.int64), base.indices, base.data, True, ext_indptr, ext_indices,
                   ext.data, scale, x, out)
    np.testing.assert_allclose(out[rows], (scale[:, None] * (union @ x))[rows], rtol=1e-5, atol=1e-6)
    assert np.isnan(np.delete(out, rows, axis=0)).all()  # rows not asked for are left alone


def test_transform_new_does_not_change_the_fit_and_is_finite(rng):
    g = random_graph(rng, n=30, m=100)
    est = ge.FastRP(dim=8, random_state=0).fit(g)
    before = est.embedding_.vectors.copy()
    out = est.transform_new(["p", "q", "r"], [0, "p", "s"], new=["p", "q", "r", "s"])  # r, s: only each other
    assert np.array_equal(est.embedding_.vectors, before)
    assert np.all(np.isfinite(out.vectors))
    assert np.all(out["r"] == 0) and np.linalg.norm(out["q"]) > 0


def test_transform_new_rejects_bad_weights(rng):
    est = ge.FastRP(dim=8, random_state=0).fit(random_graph(rng))
    with pytest.raises(InputError):
        est.transform_new(["x"], [0], weights=[-1.0])
    with pytest.raises(InputError):
        est.transform_new(["x", "y"], [0, 1], weights=[1.0])


def test_transform_new_needs_an_edge_to_the_graph(rng):
    est = ge.FastRP(dim=8, random_state=0).fit(random_graph(rng))
    with pytest.raises(InputError, match="no edge joins a new node"):
        est.transform_new(["x"], ["y"], new=["x", "y"])


def test_transform_new_names_unknown_destinations_instead_of_inventing_nodes(rng):
    est = ge.FastRP(dim=8, random_state=0).fit(random_graph(rng))  # integer ids 0..n-1
    with pytest.raises(InputError, match=r"destination ids .* \(sources\): '99'; list them in new="):
        est.transform_new(["x", "x"], [0, 99])
    with pytest.raises(InputError, match="'y'"):
        est.transform_new(["x"], ["y"])
    both = est.transform_new(["x", "x"], [0, "y"], new=["x", "y"])  # declared: y is a new node too
    assert both.node_ids.tolist() == ["x", "y"]


def test_karate_clubs_are_separable():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    g, labels = ge.datasets.karate()
    emb = ge.FastRP(dim=64, iteration_weights=[1.0, 1.0, 1.0], random_state=0).fit_transform(g)
    accuracy = cross_val_score(LogisticRegression(max_iter=1000), emb.vectors, labels, cv=4).mean()
    assert accuracy > 0.85


@pytest.mark.parametrize("bad", [dict(dim=0), dict(iteration_weights=[]), dict(propagation="x"),
                                 dict(density=0.0), dict(density=2), dict(random_state=-1),
                                 dict(n_jobs=0)])
def test_invalid_parameters_raise_input_error(rng, bad):
    with pytest.raises(InputError):
        ge.FastRP(**bad).fit(random_graph(rng))


def test_registry_finds_fastrp():
    assert ge.get_embedder("fastrp") is ge.FastRP
    assert "fastrp" in ge.available_embedders()
    with pytest.raises(InputError):
        ge.get_embedder("nope")

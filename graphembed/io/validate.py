"""The checks every reader runs before a kernel sees the data: weights and CSR structure.

Kernels trust their input (no bounds checks in numba), so a CSR index out of range would read or
write outside an array. These checks run once, at the boundary, and raise :class:`InputError`
naming the source.
"""
import numpy as np

from graphembed.io.errors import InputError


def bad_weight(w):
    """``(position, problem)`` of the first weight that is not allowed, or None.

    Weights must be finite and >= 0 *after* the float32 cast the kernels use (1e300 is finite
    in float64 but inf in float32).
    """
    w = np.asarray(w)
    if not w.size:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        as32 = w.astype(np.float32)
        bad = ~np.isfinite(as32) | (as32 < 0)
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    value = w[i]
    if np.isnan(value):
        return i, "weight is NaN (weights must be finite)"
    if not np.isfinite(value):
        return i, f"weight {value} is not finite (weights must be finite)"
    if value < 0:
        return i, f"weight {value:g} is negative (weights must be >= 0)"
    return i, f"weight {value:g} is too large for float32 (at most {np.finfo(np.float32).max:.3g})"


def check_weights(w, source=None, unit="edge"):
    """Raise :class:`InputError` for the first weight :func:`bad_weight` refuses.

    The message names ``source`` (a file, or what the weights came from) and the 1-based
    ``unit`` (``edge``, ``row``, ``entry``) of the bad value.
    """
    found = bad_weight(w)
    if found is not None:
        i, problem = found
        where = f"{source}: " if source else ""
        raise InputError(f"{where}{unit} {i + 1}: {problem}")


def check_csr(indptr, indices, n_rows, n_cols=None, source=None):
    """Raise :class:`InputError` unless (indptr, indices) is a well-formed CSR structure.

    indptr: n_rows + 1 integers, starting at 0, non-decreasing, ending at len(indices);
    indices: integers in [0, n_cols). Duplicates and unsorted rows are allowed here (the graph
    constructors merge and sort them).
    """
    where = f"{source}: " if source else ""
    n_cols = n_rows if n_cols is None else n_cols
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if indptr.ndim != 1 or indices.ndim != 1:
        raise InputError(f"{where}CSR arrays must be 1-D")
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        raise InputError(f"{where}CSR index arrays must be integers, got {indptr.dtype} and {indices.dtype}")
    if indptr.shape[0] != n_rows + 1:
        raise InputError(f"{where}indptr has {indptr.shape[0]} entries for {n_rows} rows (expected {n_rows + 1})")
    if indptr[0] != 0 or indptr[-1] != indices.shape[0]:
        raise InputError(f"{where}indptr must start at 0 and end at {indices.shape[0]} (the number of "
                         f"stored entries); it runs from {indptr[0]} to {indptr[-1]}")
    if indptr.shape[0] > 1 and (np.diff(indptr.astype(np.int64)) < 0).any():
        row = int(np.flatnonzero(np.diff(indptr.astype(np.int64)) < 0)[0])
        raise InputError(f"{where}indptr decreases at row {row}")
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= n_cols:
            bad = lo if lo < 0 else hi
            raise InputError(f"{where}column index {bad} is outside [0, {n_cols})")

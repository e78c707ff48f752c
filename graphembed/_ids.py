"""Map original node ids (integers or strings) to contiguous int32 indices, vectorised."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _as_arrow(values):
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    arr = np.asarray(values)
    if arr.dtype == object:
        return pa.array(arr.tolist())
    return pa.array(arr)


def _chunks(arr):
    return list(arr.chunks) if isinstance(arr, pa.ChunkedArray) else [arr]


def factorize(src, dst, nodes=None):
    """Factorize edge endpoints (and optional extra node ids) into one id space.

    Integer ids are numbered in increasing order; string ids in order of first appearance
    (``nodes`` first, then sources and targets). Mixed integer and string columns are read
    as strings.

    Returns
    -------
    src_idx, dst_idx : int32 arrays (m,)
    node_ids : int64 array or object array of str, shape (n,)
    """
    columns = [_as_arrow(src), _as_arrow(dst)]
    if nodes is not None:
        columns.append(_as_arrow(nodes))
    if all(pa.types.is_integer(c.type) for c in columns):
        return _factorize_int(*columns)
    columns = [c.cast(pa.string()) if not pa.types.is_string(c.type) else c for c in columns]
    extra = _chunks(columns[2]) if nodes is not None else []
    n_extra = sum(len(c) for c in extra)
    combined = pa.chunked_array(extra + _chunks(columns[0]) + _chunks(columns[1]), type=pa.string())
    if combined.null_count:
        raise ValueError("node ids contain missing values")
    encoded = pc.dictionary_encode(combined)
    codes = np.concatenate(
        [c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks]
    ).astype(np.int32, copy=False)
    dictionary = encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.string())
    m = len(columns[0])
    node_ids = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return codes[n_extra:n_extra + m], codes[n_extra + m:], node_ids


def _to_int64(col):
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if col.null_count:
        raise ValueError("node ids contain missing values")
    return col.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _factorize_int(*columns):
    arrays = [_to_int64(c) for c in columns]
    sizes = [a.shape[0] for a in arrays]
    lo = min((int(a.min()) for a in arrays if a.size), default=0)
    hi = max((int(a.max()) for a in arrays if a.size), default=-1)
    total = sum(sizes)
    if hi - lo < 4 * total + 1024:
        # Dense fast path: a present-mask over the id range, no sort and no hashing.
        present = np.zeros(hi - lo + 1, dtype=bool)
        for a in arrays:
            present[a - lo] = True
        node_ids = np.flatnonzero(present).astype(np.int64) + lo
        rank = np.cumsum(present, dtype=np.int64).astype(np.int32) - 1
        codes = [rank[a - lo] for a in arrays]
    else:
        node_ids, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
        inverse = inverse.astype(np.int32)
        codes = np.split(inverse, np.cumsum(sizes)[:-1])
    return codes[0].astype(np.int32, copy=False), codes[1].astype(np.int32, copy=False), node_ids

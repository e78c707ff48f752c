"""Map original node ids (integers or strings) to contiguous int32 indices, vectorised."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit


def _as_arrow(values):
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    arr = np.asarray(values)
    if arr.dtype == object:
        items = arr.tolist()
        try:
            return pa.array(items)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed ints and strings: all strings
            return pa.array([None if v is None else str(v) for v in items], type=pa.string())
    return pa.array(arr)


def _chunks(arr):
    return list(arr.chunks) if isinstance(arr, pa.ChunkedArray) else [arr]


def factorize(src, dst, nodes=None):
    """Factorize edge endpoints (and optional extra node ids) into one id space.

    Integer ids are numbered in increasing order; string ids in order of first appearance
    (``nodes`` first, then all sources, then all targets). Mixed integer and string columns
    are read as strings. Integer ids keep their exact values: int64 when they fit, uint64 when
    some are in [2^63, 2^64) and none is negative, decimal strings otherwise.

    Returns
    -------
    src_idx, dst_idx : int32 arrays (m,)
    node_ids : int64 or uint64 array, or object array of str, shape (n,)
    """
    columns = [_as_arrow(src), _as_arrow(dst)]
    if nodes is not None:
        columns.append(_as_arrow(nodes))
    if any(c.null_count for c in columns):
        raise ValueError("node ids contain missing values")
    if all(pa.types.is_integer(c.type) for c in columns):
        kind = integer_kind(columns)
        if kind == "int64":
            return _factorize_int(*columns)
        if kind == "uint64":
            return _factorize_uint64(*columns)
        columns = [c.cast(pa.string()) for c in columns]  # no common integer type: exact decimal text
    columns = [c if pa.types.is_string(c.type) else c.cast(pa.string()) for c in columns]
    extra = _chunks(columns[2]) if nodes is not None else []
    n_extra = sum(len(c) for c in extra)
    m = len(columns[0])
    combined = pa.chunked_array(extra + _chunks(columns[0]) + _chunks(columns[1]), type=pa.string())
    del columns
    encoded = pc.dictionary_encode(combined)
    del combined
    codes = np.empty(len(encoded), dtype=np.int32)
    start = 0
    for chunk in encoded.chunks:  # one copy straight into the int32 result, no concatenation
        piece = chunk.indices.to_numpy(zero_copy_only=False)
        codes[start:start + piece.shape[0]] = piece
        start += piece.shape[0]
    dictionary = encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.string())
    del encoded
    node_ids = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return codes[n_extra:n_extra + m], codes[n_extra + m:], node_ids


_INT64_MAX = np.iinfo(np.int64).max


def integer_kind(columns):
    """``"int64"`` when every value of the integer arrow columns fits int64, ``"uint64"`` when
    some do not but all are in [0, 2^64), else ``"str"`` (negative ids beside ids >= 2^63)."""
    big = negative = False
    for c in columns:
        if not len(c):
            continue
        if pa.types.is_unsigned_integer(c.type):
            big = big or (c.type.bit_width == 64 and pc.max(c).as_py() > _INT64_MAX)
        else:
            negative = negative or pc.min(c).as_py() < 0
    if not big:
        return "int64"
    return "str" if negative else "uint64"


def exact_integer_ids(src, dst):
    """``(src, dst)`` arrow id columns with decimal-integer strings turned into integers, exactly.

    When every id of both columns is a decimal integer (``-?[0-9]+``), both become int64 if all
    fit, else uint64 if all are in [0, 2^64); otherwise both stay strings. Never floats.
    """
    columns = [src, dst]
    if not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in columns):
        return src, dst
    for c in columns:
        if len(c) and not pc.all(pc.match_substring_regex(c, r"^-?[0-9]+$")).as_py():
            return src, dst
    for target in (pa.int64(), pa.uint64()):
        try:
            return tuple(pc.cast(c, target) for c in columns)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return src, dst


def _uint64_chunks(col):
    return [chunk.cast(pa.uint64()).to_numpy(zero_copy_only=False) for chunk in _chunks(col)]


def _factorize_uint64(*columns):
    """Integer ids beyond int64 (all in [0, 2^64)): uint64 node ids in increasing order."""
    chunked = [_uint64_chunks(c) for c in columns]
    sizes = [sum(a.shape[0] for a in chunks) for chunks in chunked]
    node_ids, inverse = np.unique(np.concatenate([a for chunks in chunked for a in chunks]),
                                  return_inverse=True)
    codes = np.split(inverse.astype(np.int32), np.cumsum(sizes)[:-1])
    return codes[0], codes[1], node_ids


def _int64_chunks(col):
    """The column's chunks as int64 numpy arrays (zero-copy for int64 chunks)."""
    out = []
    for chunk in _chunks(col):
        if chunk.type != pa.int64():
            chunk = chunk.cast(pa.int64())
        out.append(chunk.to_numpy(zero_copy_only=False))
    return out


@njit(cache=True)
def _min_max(a, lo, hi):
    for i in range(a.shape[0]):
        x = a[i]
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi


@njit(cache=True)
def _mark_present(a, lo, present):
    for i in range(a.shape[0]):
        present[a[i] - lo] = True


@njit(cache=True)
def _rank_present(present):
    rank = np.empty(present.shape[0], dtype=np.int32)
    r = 0
    for i in range(present.shape[0]):
        rank[i] = r
        if present[i]:
            r += 1
    return rank, r


@njit(cache=True)
def _lookup(a, lo, rank, out, start):
    for i in range(a.shape[0]):
        out[start + i] = rank[a[i] - lo]


def _factorize_int(*columns):
    chunked = [_int64_chunks(c) for c in columns]
    sizes = [sum(a.shape[0] for a in chunks) for chunks in chunked]
    total = sum(sizes)
    lo, hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    for chunks in chunked:
        for a in chunks:
            if a.shape[0]:
                lo, hi = _min_max(a, lo, hi)
    if total == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int64)
    if int(hi) - int(lo) < 4 * total + 1024:
        # Dense fast path: a present-mask over the id range, no sort and no hashing.
        present = np.zeros(int(hi) - int(lo) + 1, dtype=np.bool_)
        for chunks in chunked:
            for a in chunks:
                _mark_present(a, lo, present)
        rank, _ = _rank_present(present)
        node_ids = np.flatnonzero(present).astype(np.int64) + lo
        del present
        codes = []
        for chunks, size in zip(chunked, sizes):
            out = np.empty(size, dtype=np.int32)
            start = 0
            for a in chunks:
                _lookup(a, lo, rank, out, start)
                start += a.shape[0]
            codes.append(out)
    else:
        node_ids, inverse = np.unique(np.concatenate([a for chunks in chunked for a in chunks]),
                                      return_inverse=True)
        inverse = inverse.astype(np.int32)
        codes = np.split(inverse, np.cumsum(sizes)[:-1])
    return codes[0], codes[1], node_ids


@njit(cache=True)
def _scan_strings(offsets, data, start):
    """(any value starts or ends with a blank, first empty value's row or -1)."""
    blanks = False
    for i in range(offsets.shape[0] - 1):
        s = offsets[i]
        e = offsets[i + 1]
        if e == s:
            return blanks, start + i
        if not blanks:
            a = data[s]
            b = data[e - 1]
            if a == 32 or a == 9 or a == 13 or b == 32 or b == 9 or b == 13:
                blanks = True
    return blanks, -1


def scan_strings(col):
    """For a (chunked) arrow string column: (has values with surrounding blanks, first empty row or -1).

    Stops at the first empty value.
    """
    blanks = False
    for start, offsets, data in _string_buffers(col):
        b, empty = _scan_strings(offsets, data, start)
        blanks = blanks or b
        if empty >= 0:
            return blanks, empty
    return blanks, -1


def _string_buffers(col):
    """Yield (first row, offsets, bytes) of each non-empty chunk of an arrow string column."""
    start = 0
    for chunk in _chunks(col):
        n = len(chunk)
        if n:
            bufs = chunk.buffers()
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            offsets = np.frombuffer(bufs[1], dtype=width)[chunk.offset:chunk.offset + n + 1]
            data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and bufs[2].size \
                else np.zeros(1, dtype=np.uint8)
            yield start, offsets, data
        start += n


@njit(cache=True)
def _comment_mask(offsets, data, out, start):
    found = False
    for i in range(offsets.shape[0] - 1):
        for k in range(offsets[i], offsets[i + 1]):
            c = data[k]
            if c == 32 or c == 9:
                continue
            if c == 35 or c == 37:  # '#' or '%'
                out[start + i] = True
                found = True
            break
    return found


def comment_mask(col):
    """Bool mask of values whose first non-blank character is # or %, or None when there are none."""
    out = np.zeros(len(col), dtype=np.bool_)
    found = False
    for start, offsets, data in _string_buffers(col):
        found = _comment_mask(offsets, data, out, start) or found
    return out if found else None

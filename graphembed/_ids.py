"""Node ids: factorising them into contiguous int32 indices (vectorised; the loops are numba
kernels in :mod:`graphembed._kernels.ids`), and :class:`IdIndex`, the one place where ids are
matched and coerced."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphembed.io.errors import InputError


def _ids_array(values):
    """int64 ids when every id is an integer that fits (uint64 when some are in [2^63, 2^64)
    and none is negative), else an object array of str."""
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        ints = [int(v) for v in values]
        lo, hi = min(ints, default=0), max(ints, default=0)
        if -2**63 <= lo and hi < 2**63:
            return np.asarray(ints, dtype=np.int64)
        if lo >= 0 and hi < 2**64:
            return np.asarray(ints, dtype=np.uint64)
    out = np.empty(len(values), dtype=object)
    out[:] = [str(v) for v in values]
    return out


def _as_arrow(values):
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if not isinstance(values, np.ndarray):
        # numpy turns a list of Python ints beyond int64 into float64: build the array exactly
        values = list(values)
        if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                          for v in values):
            ids = _ids_array(values)
            return pa.array(ids.tolist(), type=pa.string()) if ids.dtype.kind == "O" else pa.array(ids)
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

    When every id of both columns is an integer written canonically (``0`` or ``-?[1-9][0-9]*``:
    no sign, leading zero or blank that a number would lose, so ``"01"`` and ``"1"`` stay two
    ids), both become int64 if all fit, else uint64 if all are in [0, 2^64); otherwise both stay
    strings. Never floats.
    """
    columns = [src, dst]
    if not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in columns):
        return src, dst
    for target in (pa.int64(), pa.uint64()):
        try:
            numbers = [pc.cast(c, target) for c in columns]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if all(_canonical(c, n) for c, n in zip(columns, numbers)):
            return tuple(numbers)
        return src, dst
    return src, dst


def _canonical(text, numbers) -> bool:
    """Every string of ``text`` is how its integer prints. arrow's cast accepted only an optional
    sign and digits, so what a number would lose is a "+", a leading zero ("01") or "-0"."""
    lossy = pc.or_(pc.starts_with(text, "+"), pc.starts_with(text, "-0"))
    lossy = pc.or_(lossy, pc.and_(pc.starts_with(text, "0"), pc.greater(pc.binary_length(text), 1)))
    return not pc.any(lossy).as_py()


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


def _factorize_int(*columns):
    from graphembed._kernels.ids import _lookup, _mark_present, _min_max, _rank_present

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


def scan_strings(col):
    """For a (chunked) arrow string column: (has values with surrounding blanks, first empty row or -1).

    Stops at the first empty value.
    """
    from graphembed._kernels.ids import _scan_strings

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


def comment_mask(col):
    """Bool mask of values whose first non-blank character is # or %, or None when there are none."""
    from graphembed._kernels.ids import _comment_mask

    out = np.zeros(len(col), dtype=np.bool_)
    found = False
    for start, offsets, data in _string_buffers(col):
        found = _comment_mask(offsets, data, out, start) or found
    return out if found else None


# ---------------------------------------------------------------------------- matching ids
def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


class UnknownIdError(InputError, KeyError):
    """A node id that is not in the graph or embedding (an InputError, and a KeyError for
    mapping-style callers)."""

    __str__ = BaseException.__str__  # KeyError would quote the message


class IdIndex:
    """The one place where node ids are matched: positions of original ids in an id array.

    Parameters
    ----------
    node_ids : array (n,) of int64 or uint64 ids, or an object array of str, without repeats.

    One coercion rule for every lookup:

    * numpy scalars count as the Python value they hold;
    * booleans are refused (``True`` is not node 1) with an :class:`InputError`;
    * integer ids: an int matches itself, a whole float its integer value (as in Python,
      ``2.0 == 2``) while it is below 2^53 in magnitude (beyond, a float may be a rounded id, so
      it is refused with an :class:`InputError`), a string of decimal digits (optional sign, no
      blanks) the integer it spells;
    * string ids: a string matches itself, an int the string of its decimal digits.

    Anything else matches nothing. Unknown ids raise :class:`UnknownIdError` (an InputError and a
    KeyError) naming them, unless a lookup asks to skip or count them.
    """

    def __init__(self, node_ids):
        if not isinstance(node_ids, np.ndarray):
                node_ids = _ids_array(list(node_ids))
        self.node_ids = node_ids
        self._map = None
        self._integer = self.node_ids.dtype.kind in "iu"

    def __len__(self):
        return self.node_ids.shape[0]

    def _lookup(self):
        if self._map is None:
            self._map = {v: i for i, v in enumerate(self.node_ids.tolist())}
        return self._map

    def key(self, node_id):
        """``node_id`` coerced to the id type of this index (None when it cannot be one)."""
        if isinstance(node_id, np.generic):
            node_id = node_id.item()
        if isinstance(node_id, bool):
            raise InputError(f"node id {node_id!r} is a boolean, not a node id")
        if self._integer:
            if isinstance(node_id, int):
                return node_id
            if isinstance(node_id, float):
                if not node_id.is_integer():
                    return None
                if abs(node_id) >= 2.0 ** 53:  # 2**63 + 1 reads as 2**63 once it is a float
                    raise InputError(f"node id {node_id!r} is a float too large to name one integer "
                                     "id exactly; pass it as an int or a string")
                return int(node_id)
            if isinstance(node_id, str):
                text = node_id[1:] if node_id[:1] in "+-" else node_id
                return int(node_id) if text.isdigit() and text.isascii() else None
            return None
        if isinstance(node_id, str):
            return node_id
        if isinstance(node_id, int):
            return str(node_id)
        return None

    def find(self, node_id):
        """Position of ``node_id``, or -1 when it is not an id here."""
        key = self.key(node_id)
        if key is None:
            return -1
        return self._lookup().get(key, -1)

    def __contains__(self, node_id):
        try:
            return self.find(node_id) >= 0
        except InputError:
            return False

    def position(self, node_id) -> int:
        """Position of ``node_id``; :class:`UnknownIdError` when it is not an id here."""
        found = self.find(node_id)
        if found < 0:
            shown = node_id.item() if isinstance(node_id, np.generic) else node_id
            raise UnknownIdError(f"unknown node id {shown!r}")  # 9, not np.int64(9)
        return found

    def positions(self, node_ids, missing="raise"):
        """int64 positions (k,) of ``node_ids``.

        missing: ``"raise"`` (an :class:`UnknownIdError` naming up to five unknown ids),
        ``"skip"`` (unknown ids get -1) or ``"count"`` (as skip, returned with the number of
        unknown ids: ``(positions, n_unknown)``).
        """
        if missing not in ("raise", "skip", "count"):
            raise ValueError(f"missing must be 'raise', 'skip' or 'count', got {missing!r}")
        values = node_ids.tolist() if isinstance(node_ids, np.ndarray) else list(node_ids)
        out = np.fromiter((self.find(v) for v in values), dtype=np.int64, count=len(values))
        unknown = np.flatnonzero(out < 0)
        if missing == "raise" and unknown.size:
            shown = ", ".join(repr(_plain(values[i])) for i in unknown[:5]) \
                + (", ..." if unknown.size > 5 else "")
            raise UnknownIdError(f"unknown node id {shown}" if unknown.size == 1
                                 else f"{unknown.size} unknown node ids: {shown}")
        return (out, int(unknown.size)) if missing == "count" else out

    def align(self, other_ids):
        """Positions here of each id of ``other_ids`` (-1 where absent): row ``i`` of data indexed
        like ``other_ids`` belongs at position ``align(other_ids)[i]`` of data indexed like this."""
        if not isinstance(other_ids, np.ndarray):  # np.asarray([5, 2**64 - 1]) is float64: inexact
            return self.positions(other_ids, missing="skip")
        other = other_ids
        if self._integer and other.dtype.kind in "iu" and other.dtype == self.node_ids.dtype:
            order = np.argsort(self.node_ids, kind="stable")
            sorted_ids = self.node_ids[order]
            at = np.searchsorted(sorted_ids, other)
            at_clipped = np.minimum(at, max(len(sorted_ids) - 1, 0))
            hit = (at < len(sorted_ids)) & (sorted_ids[at_clipped] == other) if len(sorted_ids) else \
                np.zeros(other.shape, dtype=bool)
            return np.where(hit, order[at_clipped] if len(sorted_ids) else -1, -1).astype(np.int64)
        return self.positions(other, missing="skip")

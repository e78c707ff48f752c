"""Matlab ``.mat`` files: :func:`read_mat` (the benchmark files' ``network`` and ``group``), and
the structural check of Matlab v5 files it runs before scipy reads them.

``scipy.io.loadmat`` trusts the sizes and sparse indices it finds (scipy documents that it is
not hardened against untrusted files), and some damaged files crash the process inside it. This
walks the file's data elements first: every tag fits inside its parent, numeric arrays hold as
many values as their dimensions say, and a sparse array's column pointers and row indices are in
range. Only a file that passes is handed to scipy.
"""
import struct
import zlib

import numpy as np

from graphembed.io.errors import InputError
from graphembed.io.text import short

_HEADER = 128
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED, _MI_UTF8 = 1, 5, 6, 14, 15, 16
_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_SPARSE, _CELL, _STRUCT, _OBJECT, _CHAR = 5, 1, 2, 3, 4
_MAX_DEPTH = 32


class _Damaged(Exception):
    pass


def check_mat5(path):
    """Raise InputError naming ``path`` unless it is a well-formed Matlab v5 file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] == b"\x89HDF" or b"MATLAB 7.3" in data[:116]:
        raise InputError(f"{path}: a Matlab v7.3 (HDF5) file; save it with -v7 to read it here")
    if len(data) < _HEADER or not data.startswith(b"MATLAB 5.0"):
        raise InputError(f"{path}: not a Matlab v5 file (save it with -v7)")
    endian = data[126:128]
    if endian not in (b"IM", b"MI"):
        raise InputError(f"{path}: not a Matlab v5 file (no byte-order mark in the header)")
    order = "<" if endian == b"IM" else ">"
    try:
        _elements(data, _HEADER, len(data), order, 0, top=True)
    except _Damaged as exc:
        raise InputError(f"{path}: not a readable Matlab file ({exc})") from None


def _tag(data, pos, end, order):
    """(mdtype, nbytes, data start, next element) of the element at ``pos``."""
    if pos + 8 > end:
        raise _Damaged(f"a truncated element at byte {pos}")
    mdtype, nbytes = struct.unpack_from(order + "II", data, pos)
    if mdtype >> 16:  # small data element: size in the upper half, data in the tag's last 4 bytes
        nbytes, mdtype = mdtype >> 16, mdtype & 0xFFFF
        if nbytes > 4:
            raise _Damaged(f"a small element of {nbytes} bytes at byte {pos}")
        return mdtype, nbytes, pos + 4, pos + 8
    start = pos + 8
    if start + nbytes > end:
        raise _Damaged(f"an element at byte {pos} runs past the end of its container")
    return mdtype, nbytes, start, start + nbytes + (-nbytes % 8 if mdtype != _MI_COMPRESSED else 0)


def _elements(data, pos, end, order, depth, top=False):
    while pos < end:
        if top and end - pos < 8 and not data[pos:end].strip(b"\x00"):
            return  # padding at the end of the file
        mdtype, nbytes, start, nxt = _tag(data, pos, end, order)
        if mdtype == _MI_COMPRESSED:
            if not top:
                raise _Damaged(f"a compressed element inside an array at byte {pos}")
            try:
                inner = zlib.decompress(data[start:start + nbytes])
            except zlib.error as exc:
                raise _Damaged(f"damaged compressed data at byte {pos}: {exc}") from None
            _elements(inner, 0, len(inner), order, depth)
        elif mdtype == _MI_MATRIX:
            _matrix(data, start, start + nbytes, order, depth + 1)
        elif top:
            raise _Damaged(f"an element of type {mdtype} at byte {pos} where a variable belongs")
        pos = min(nxt, end) if nxt > pos else end


def _values(data, pos, end, order, what):
    """(mdtype, count, start, next) of a numeric sub-element."""
    mdtype, nbytes, start, nxt = _tag(data, pos, end, order)
    size = _SIZES.get(mdtype)
    if size is None:
        raise _Damaged(f"{what}: unknown data type {mdtype}")
    if nbytes % size:
        raise _Damaged(f"{what}: {nbytes} bytes is not a whole number of values")
    return mdtype, nbytes // size, start, nxt


def _ints(data, mdtype, count, start, order):
    """int64 array of ``count`` integers of Matlab type ``mdtype`` at ``start``."""
    code = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 12: "i8", 13: "u8"}.get(mdtype)
    if code is None:
        raise _Damaged(f"integer data stored as type {mdtype}")
    return np.frombuffer(data, dtype=np.dtype(code).newbyteorder(order), count=count,
                         offset=start).astype(np.int64)


def _matrix(data, pos, end, order, depth):
    if depth > _MAX_DEPTH:
        raise _Damaged("arrays nested too deeply")
    if pos == end:
        return  # an empty matrix element
    mdtype, count, start, pos = _values(data, pos, end, order, "array flags")
    if mdtype != _MI_UINT32 or count != 2:
        raise _Damaged("array flags are not two uint32 values")
    flags, nzmax = struct.unpack_from(order + "II", data, start)
    klass, is_complex = flags & 0xFF, bool(flags & 0x0800)
    mdtype, count, start, pos = _values(data, pos, end, order, "dimensions")
    if mdtype != _MI_INT32 or count < 2:
        raise _Damaged("dimensions are not int32 values (at least two)")
    dims = _ints(data, mdtype, count, start, order)
    if dims.min() < 0:
        raise _Damaged(f"negative dimensions {tuple(dims.tolist())[:4]}")
    total = 1
    for d in dims.tolist():
        total *= d
    mdtype, count, start, pos = _values(data, pos, end, order, "name")
    if klass == _SPARSE:
        if len(dims) != 2:
            raise _Damaged("a sparse array that is not 2-D")
        rows, cols = dims.tolist()
        mdtype, n_ir, ir_start, pos = _values(data, pos, end, order, "sparse row indices")
        ir = _ints(data, mdtype, n_ir, ir_start, order)
        mdtype, n_jc, jc_start, pos = _values(data, pos, end, order, "sparse column pointers")
        jc = _ints(data, mdtype, n_jc, jc_start, order)
        if n_jc != cols + 1 or jc[0] != 0 or (np.diff(jc) < 0).any() or jc[-1] > n_ir:
            raise _Damaged("sparse column pointers out of range")
        used = ir[: int(jc[-1])]
        if used.size and (used.min() < 0 or used.max() >= rows):
            raise _Damaged("a sparse row index out of range")
        for part in ("real", "imaginary")[: 1 + is_complex]:
            if pos >= end and jc[-1] == 0:
                break
            mdtype, n_pr, _, pos = _values(data, pos, end, order, f"sparse {part} values")
            if n_pr < jc[-1]:
                raise _Damaged(f"{n_pr} sparse values for {jc[-1]} entries")
    elif klass == _CELL:
        for _ in range(total):
            mdtype, nbytes, start, pos = _tag(data, pos, end, order)
            if mdtype != _MI_MATRIX:
                raise _Damaged("a cell that is not an array")
            _matrix(data, start, start + nbytes, order, depth + 1)
    elif klass in (_STRUCT, _OBJECT):
        if klass == _OBJECT:
            mdtype, count, start, pos = _values(data, pos, end, order, "class name")
        mdtype, count, start, pos = _values(data, pos, end, order, "field name length")
        if count != 1:
            raise _Damaged("a struct without a field name length")
        length = int(_ints(data, mdtype, 1, start, order)[0])
        mdtype, count, start, pos = _values(data, pos, end, order, "field names")
        n_fields = count // length if length > 0 else 0
        for _ in range(total * n_fields):
            mdtype, nbytes, start, pos = _tag(data, pos, end, order)
            if mdtype != _MI_MATRIX:
                raise _Damaged("a struct field that is not an array")
            _matrix(data, start, start + nbytes, order, depth + 1)
    elif klass == _CHAR or 6 <= klass <= 15:
        for part in ("real", "imaginary")[: 1 + is_complex]:
            mdtype, count, _, pos = _values(data, pos, end, order, f"{part} values")
            if klass == _CHAR and mdtype in (_MI_UTF8, 17, 18):
                continue  # UTF-encoded characters: bytes per character vary
            if count != total:
                raise _Damaged(f"{count} values for an array of {total}")
    elif klass not in (16, 17, 18):  # function handles and opaque objects are skipped by scipy
        raise _Damaged(f"unknown array class {klass}")


def read_mat(path):
    """The ``network`` matrix and ``group`` labels (or None) of a benchmark ``.mat`` file."""
    import scipy.io

    check_mat5(path)  # scipy trusts the file's sizes; some damaged files crash it
    try:
        data = scipy.io.loadmat(str(path))
    except Exception as exc:  # scipy raises several types for corrupt files
        raise InputError(f"{path}: not a readable Matlab file ({short(exc, 120)})") from None
    matrix = data.get("network")
    if matrix is None:
        square = [k for k, v in data.items() if not k.startswith("__")
                  and hasattr(v, "shape") and len(v.shape) == 2 and v.shape[0] == v.shape[1]]
        if len(square) != 1:
            raise InputError(f"{path}: no 'network' matrix found (keys: "
                             f"{', '.join(k for k in data if not k.startswith('__'))})")
        matrix = data[square[0]]
    labels = data.get("group")
    from graphembed.graph import _checked_csr

    matrix = _checked_csr(matrix, f"{path}: network")
    return matrix, (_checked_csr(labels, f"{path}: group") if labels is not None else None)

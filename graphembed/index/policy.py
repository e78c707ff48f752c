"""Choosing and checking the faiss index of an EmbeddingIndex: the factory string ``index="auto"``
builds for a given size and memory (:func:`choose_factory`), the checks on a factory string given
by hand (:func:`check_factory`, :func:`_with_refine`), and the build and search defaults stored
with an index (efConstruction, :func:`default_ef_search`).
"""
import math

from graphembed.io.errors import InputError

AUTO_FLAT_MAX = 50_000           # exact search is fast enough below this many vectors
AUTO_LARGE = 100_000             # above this many vectors auto builds a denser graph, searched wider
HNSW_M = 32
HNSW_M_LARGE = 48
DEFAULT_EF_SEARCH = 64
DEFAULT_EF_SEARCH_LARGE = 128
DEFAULT_EF_CONSTRUCTION = 40


def available_memory_bytes():
    """Memory available now (see :func:`graphembed._limits.available_memory`), else 8 GiB."""
    from graphembed._limits import available_memory

    return available_memory() or 8 * 2**30

def ivf_nlist(n):
    """Inverted lists for ``n`` vectors: 4 sqrt(n) (the low end of the usual 4..16 sqrt(n))."""
    return max(1, min(n // 39, math.ceil(4 * math.sqrt(n))))


def _pq_m(dim):
    """Sub-quantisers for PQ codes: the largest divisor of dim that is at most dim / 4 (>= 1)."""
    for m in range(max(1, dim // 4), 0, -1):
        if dim % m == 0:
            return m
    return 1


def choose_factory(n, dim, available=None):
    """The faiss factory string ``index="auto"`` uses for ``n`` vectors of ``dim``.

    * ``Flat`` (exact) up to 50,000 vectors;
    * ``HNSW32`` up to 100,000 vectors and ``HNSW48`` beyond, when the vectors plus the graph
      (about 4 dim + 8.8 M + 16 bytes per vector) fit in half of the available memory;
    * ``IVF{4 sqrt n},Flat`` when the vectors fit in 3/4 of the available memory;
    * otherwise ``IVF{4 sqrt n},PQ{dim/4}x8,RFlat``: compressed codes re-ranked exactly (the
      full vectors are mmapped from disk).

    Design and measurements: docs/decisions/auto-index.md.
    """
    available = available_memory_bytes() if available is None else available
    if n <= AUTO_FLAT_MAX:
        return "Flat"
    vectors = n * dim * 4
    m = HNSW_M if n <= AUTO_LARGE else HNSW_M_LARGE
    if vectors + n * (m * 2 * 4 * 1.1 + 16) <= available / 2:
        return f"HNSW{m}"
    if vectors * 1.1 <= available * 0.75:
        return f"IVF{ivf_nlist(n)},Flat"
    return f"IVF{ivf_nlist(n)},PQ{_pq_m(dim)}x8,RFlat"


def default_ef_search(n):
    """The efSearch stored with an HNSW index of ``n`` vectors when none is given: 64 up to
    100,000 vectors, 128 beyond (a larger graph needs a wider search for the same recall)."""
    return DEFAULT_EF_SEARCH if n <= AUTO_LARGE else DEFAULT_EF_SEARCH_LARGE


def check_factory(factory, dim):
    """Refuse the factory strings that faiss aborts on instead of raising (an HNSW graph with
    M < 2, PQ codes of 0 or more than 16 bits) and parameters that cannot work for ``dim``."""
    import re

    for m in re.finditer(r"HNSW(\d+)", factory):
        if int(m.group(1)) < 2:
            raise InputError(f"index {factory!r}: HNSW needs M >= 2 neighbours per node, got {m.group(1)}")
    for m in re.finditer(r"IVF(\d+)", factory):
        if int(m.group(1)) < 1:
            raise InputError(f"index {factory!r}: IVF needs at least 1 list, got {m.group(1)}")
    for m in re.finditer(r"(?<![A-Za-z])(?:PQ|OPQ)(\d+)(?:x(\d+))?", factory):
        parts, bits = int(m.group(1)), m.group(2)
        if parts < 1:
            raise InputError(f"index {factory!r}: PQ needs at least 1 sub-quantizer, got {parts}")
        if bits is not None and not 1 <= int(bits) <= 16:
            raise InputError(f"index {factory!r}: PQ codes need 1 to 16 bits, got {bits}")


def _with_refine(factory):
    """PQ codes only with exact re-ranking: append ``,RFlat`` unless a refine stage is given."""
    if "PQ" in factory.upper() and "RFLAT" not in factory.upper() and "REFINE" not in factory.upper():
        return factory + ",RFlat"
    return factory

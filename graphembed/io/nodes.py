"""Node tables: one reader for every file that lists nodes (node files, query and filter ids,
node weights, labels single- or multi-label).

All of them are UTF-8 text with an optional byte-order mark; blank lines and lines starting
with ``#`` or ``%`` are skipped; errors name the file and the line.
"""
import re
import zlib
from pathlib import Path

import numpy as np

from graphembed.io.errors import InputError
from graphembed.io.text import COMMENT_PREFIXES, open_text, short, utf8_error

_INTEGER = re.compile(r"-?[0-9]+")


def read_node_ids(path, what="node"):
    """The ids of a file with one node id per line, as text (the whole line, stripped: ids may
    hold spaces). ``what`` names the file in errors ("query", "filter")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    try:
        with open_text(path) as fh:
            return [line.strip() for line in fh
                    if line.strip() and not line.lstrip().startswith(COMMENT_PREFIXES)]
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read the {what} file ({short(exc)})") from None


def read_node_file(path):
    """Node ids of a graph's node file, one per line (the first field of each line): integers
    when every id is one (int64, or uint64 beyond it), else strings."""
    from graphembed._ids import _ids_array

    ids = [line.split()[0] for line in read_node_ids(path)]
    if ids and all(_INTEGER.fullmatch(x) for x in ids):
        return _ids_array([int(x) for x in ids])
    return np.asarray(ids, dtype=object)


def read_node_rows(path, what="node table"):
    """Data rows of a small ``node,value`` text file as a list of (line number, fields).

    The separator (tab, comma, semicolon or whitespace) is read off the first data row; blank
    lines and lines starting with ``#`` or ``%`` are skipped; fields are stripped; line numbers
    are the file's own (1-based), so errors can name them. ``what`` names the file in errors.
    Callers decide on a header row and on the meaning of the columns.
    """
    import csv

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise utf8_error(p) from None
    numbered = [(k, ln) for k, ln in enumerate(text.splitlines(), start=1)
                if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    if not numbered:
        return []
    first = numbered[0][1]
    delimiter = next((d for d in ("\t", ",", ";") if d in first), None)
    if delimiter is None:
        fields = [ln.split() for _, ln in numbered]
    else:
        fields = csv.reader([ln for _, ln in numbered], delimiter=delimiter)
    return [(k, [f.strip() for f in row]) for (k, _), row in zip(numbered, fields)]


def read_node_weights(path):
    """{node id: weight} from a CSV/TSV of node,weight rows (a non-numeric first row is a header)."""
    p = Path(path)
    rows = []
    for i, (line_no, row) in enumerate(read_node_rows(p, "node weight")):
        if len(row) < 2:
            raise InputError(f"{p}: line {line_no}: expected 'node,weight', got {','.join(row)!r}")
        try:
            w = float(row[1])
        except ValueError:
            if i == 0:
                continue  # header
            raise InputError(f"{p}: line {line_no}: weight {row[1]!r} is not a number") from None
        rows.append((row[0], w, line_no))
    if not rows:
        raise InputError(f"{p}: no node weights")
    as_int = all(n.lstrip("-").isdigit() for n, _, _ in rows)
    out = {}
    for n, w, line_no in rows:
        key = int(n) if as_int else n
        if key in out:
            raise InputError(f"{p}: line {line_no}: node {n!r} listed twice")
        out[key] = w
    return out


class Labels:
    """Labels aligned with a list of node ids.

    Attributes
    ----------
    y : bool array (n_nodes, n_classes), y[i, j] = node i has label j.
    classes : list of the label values (column order).
    labelled : bool array (n_nodes,), nodes with at least one label.
    multilabel : bool, some node has more than one label.
    unmatched : int, label rows whose node is not among the node ids (ignored).
    source : str
    """

    def __init__(self, y, classes, unmatched=0, source=None):
        self.y = np.asarray(y, dtype=bool)
        self.classes = list(classes)
        self.labelled = self.y.any(axis=1)
        self.multilabel = bool((self.y.sum(axis=1) > 1).any())
        self.unmatched = int(unmatched)
        self.source = source

    def single(self):
        """Object array (n_nodes,) of the one label of each node (first one if several), None if none."""
        out = np.empty(self.y.shape[0], dtype=object)
        first = self.y.argmax(axis=1)
        for i in range(len(out)):
            out[i] = self.classes[first[i]] if self.labelled[i] else None
        return out

    def __repr__(self):
        kind = "multi-label" if self.multilabel else "single-label"
        return f"Labels({int(self.labelled.sum())} labelled nodes, {len(self.classes)} classes, {kind})"


def read_labels(path, node_ids):
    """Labels of ``node_ids`` from a file.

    * ``.mat``: the ``group`` matrix (n, classes) of the DeepWalk/node2vec files; row ``i`` is
      node id ``i`` (the ids :func:`graphembed.read_graph` gives a ``.mat`` graph).
    * text (``.csv``, ``.tsv``, ``.txt``): rows ``node,label`` (comma, tab or space separated;
      extra columns ignored; a header line is detected); a node with several labels has several
      rows. Lines starting with ``#`` are skipped.
    """
    from pathlib import Path

    path = Path(path)
    node_ids = np.asarray(node_ids)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() == ".mat":
        from graphembed.io.matfile import read_mat

        _, group = read_mat(path)
        if group is None:
            raise InputError(f"{path}: no 'group' label matrix in this .mat file")
        group = group.tocsr()
        rows = np.full(len(node_ids), -1, dtype=np.int64)
        unmatched = 0
        if node_ids.dtype.kind in "iu":
            ok = (node_ids >= 0) & (node_ids < group.shape[0])
            rows[ok] = node_ids[ok]
        else:
            for i, v in enumerate(node_ids.tolist()):
                try:
                    r = int(v)
                    if 0 <= r < group.shape[0]:
                        rows[i] = r
                except ValueError:
                    pass
        have = rows >= 0
        y = np.zeros((len(node_ids), group.shape[1]), dtype=bool)
        y[have] = group[rows[have]].toarray() > 0
        unmatched = group.shape[0] - int(have.sum())
        return Labels(y, list(range(group.shape[1])), max(0, unmatched), str(path))
    return _read_label_text(path, node_ids)


def _read_label_text(path, node_ids):
    rows = read_node_rows(path, "labels")
    if not rows:
        raise InputError(f"{path}: no labels found (expected rows node,label)")
    from graphembed._ids import IdIndex

    index = IdIndex(node_ids)
    start = 0
    if len(rows[0][1]) >= 2 and rows[0][1][0] not in index and len(rows) > 1 \
            and rows[1][1][0] in index:
        start = 1  # header
    pairs, unmatched = [], 0
    for line_no, row in rows[start:]:
        if len(row) < 2:
            raise InputError(f"{path}: line {line_no}: expected 2 columns (node, label), found {len(row)}")
        i = index.find(row[0])
        if i < 0:
            unmatched += 1
            continue
        pairs.append((i, row[1]))
    if not pairs:
        raise InputError(f"{path}: none of the {len(rows) - start} labelled nodes is in the embedding "
                         f"(first id {rows[start][1][0]!r})")
    values = sorted({lab for _, lab in pairs}, key=_natural)
    col = {v: j for j, v in enumerate(values)}
    y = np.zeros((len(node_ids), len(values)), dtype=bool)
    for i, lab in pairs:
        y[i, col[lab]] = True
    return Labels(y, values, unmatched, str(path))


def _natural(v):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)

"""Read graphs from edge lists (CSV/TSV/space, .gz), Parquet, Matlab .mat, GML and .npz CSR.

Every problem with the input raises :class:`InputError` naming the file, the line where known,
and what is wrong.
"""
import os
import zlib
from pathlib import Path

import numpy as np

from graphembed.graph import Graph
from graphembed.io.errors import InputError, located
from graphembed.io.matfile import read_mat
from graphembed.io.nodes import read_node_file
from graphembed.io.text import COMMENT_PREFIXES, open_text, quote, short, utf8_error
from graphembed.params import INPUT_FORMATS as FORMATS  # one list, shared with the CLI

TEXT_EXTENSIONS = {".csv", ".tsv", ".txt", ".edges", ".edgelist", ".el", ".tab", ".dat", ".snap"}
# Column words that mark a header even above string ids. No single letters: "a b" is an edge.
_HEADER_WORDS = {
    "source", "target", "src", "dst", "from", "to", "node1", "node2", "node_1", "node_2",
    "head", "tail", "weight", "id1", "id2", "start", "end", "source_id", "target_id",
}


def detect_format(path) -> str:
    """Format name from the file extension (``.gz`` stripped); text is the fallback."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = Path(name).suffix
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext == ".mat":
        return "mat"
    if ext == ".gml":
        return "gml"
    if ext == ".npz":
        return "npz"
    return "csv"


def read_graph(path, *, format=None, directed=None, weighted=None, source_col=None,
               target_col=None, weight_col=None, header=None, delimiter=None, nodes=None,
               self_loops=False, duplicates="first", partitions=None, scheduler=None) -> Graph:
    """Read a graph file into a :class:`Graph`.

    Parameters
    ----------
    path : str or Path, or ``dataset:NAME`` for a shipped graph (``dataset:karate``). The format
        follows the extension unless ``format`` is given ("csv" for any delimited text,
        "parquet", "mat", "gml", "npz").
    directed : edge lists default to undirected; GML follows its ``directed`` flag; ``.npz``
        reads a symmetric matrix as undirected; ``.mat`` files are undirected only.
    weighted : edge lists are weighted when ``weight_col`` is given or ``weighted=True``
        (then the third column); matrices keep values unless they are all 1.
    source_col, target_col, weight_col : column names or 0-based positions (default 0, 1, 2).
    header : True/False, or None to detect it.
    delimiter : one character, or None to detect (tab, comma or space).
    nodes : a node file (one id per line) or a sequence of ids; isolated ones keep a row.
    self_loops : keep self-loops (dropped by default).
    duplicates : "first", "sum" or "max": how repeated edges merge their weights.
    partitions : None (read here), or read on Dask into a
        :class:`~graphembed.distributed.graph.PartitionedGraph` of that many CSR row blocks
        (True: a default count): ``path`` may then be a directory or glob of Parquet/CSV edge
        files, read on the workers; the node order is that of reading the files, concatenated
        in name order, here. Needs ``scheduler`` (a ``dask.distributed.Client``, its address,
        or None for the current client) and ``graphembed[dask]``.
    """
    if partitions is not None and partitions is not False:
        from graphembed.distributed.edges import read_partitioned_with

        return read_partitioned_with(scheduler, path, partitions=None if partitions is True else partitions,
                                     format=format, directed=directed, weighted=weighted, source_col=source_col,
                                     target_col=target_col, weight_col=weight_col, header=header,
                                     delimiter=delimiter, nodes=nodes, self_loops=self_loops,
                                     duplicates=duplicates)
    from graphembed.io.shipped import resolve

    path = Path(resolve(path))
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"{path}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a graph file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    node_list = read_node_file(nodes) if isinstance(nodes, (str, os.PathLike)) else nodes

    if fmt in ("mat", "npz", "gml"):
        for name, value in (("source_col", source_col), ("target_col", target_col), ("weight_col", weight_col)):
            if value is not None:
                raise InputError(f"{path}: {name} does not apply to .{fmt} files")
    if fmt == "mat":
        if directed:
            raise InputError(f"{path}: a .mat network is an undirected adjacency matrix; "
                             "drop --directed")
        matrix, _ = read_mat(path)
        g = Graph.from_scipy(matrix, directed=False, weighted=weighted, self_loops=self_loops, source=path)
    elif fmt == "npz":
        g = Graph.from_scipy(_read_npz(path), directed=directed, weighted=weighted, self_loops=self_loops,
                             source=path)
    elif fmt == "gml":
        g = _read_gml(path, directed, weighted, self_loops)
    else:
        read = _read_parquet if fmt == "parquet" else _read_text
        src, dst, w, info = read(path, source_col, target_col, weight_col, weighted, header, delimiter)
        g = Graph.from_edges(src, dst, w, directed=bool(directed), nodes=node_list,
                             self_loops=self_loops, duplicates=duplicates, source=path)
        g.stats.update(info)
    g.stats["source"] = str(path)
    g.stats["format"] = fmt
    return g


# ---------------------------------------------------------------------------- text

def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _is_int(token):
    try:
        int(token)
        return True
    except ValueError:
        return False


def _split(line, delimiter):
    """Fields of a text line as pyarrow's CSV parser reads them: RFC 4180 quoting (``"a,b"`` is
    one field, ``""`` an escaped quote); runs of blanks are one separator for a space delimiter."""
    import csv

    line = line.strip()
    if delimiter == " ":
        return line.split()
    try:
        return [t.strip() for t in next(csv.reader([line], delimiter=delimiter), [""])]
    except csv.Error:  # a field beyond the csv module's limit: split plainly (it is reported anyway)
        return [t.strip() for t in line.split(delimiter)]


def _is_comment_or_blank(stripped):
    return not stripped or stripped.startswith(COMMENT_PREFIXES)


def _sniff(path, delimiter, max_lines=50):
    """Return (leading lines to skip, delimiter, first data rows as token lists)."""
    skip = 0
    rows = []
    try:
        with open_text(path) as fh:
            for line in fh:
                stripped = line.strip()
                if _is_comment_or_blank(stripped):
                    if not rows:
                        skip += 1
                    continue
                if delimiter is None:
                    delimiter = "\t" if "\t" in stripped else "," if "," in stripped else " "
                rows.append(_split(stripped, delimiter))
                if len(rows) >= max_lines:
                    break
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read ({short(exc)})") from None
    if not rows:
        raise InputError(f"{path}: no edges found (only comments or blank lines)")
    return skip, delimiter, rows


def _header_verdict(rows, id_cols, w_col=None):
    """Is the first sampled row a header? True, False, or None when only the whole file can tell.

    It is a header when it cannot be data: a column word (``source``, ``target``...) as an id, a
    non-numeric weight above numeric weights, or non-numeric ids above numeric ones. A numeric
    first row is data. When the first row's ids and the others' are all strings, it is a header
    only if none of its ids occurs anywhere else in the file (None: the caller checks that).
    """
    first, rest = rows[0], rows[1:]
    ids = [first[c] for c in id_cols if c < len(first)]
    if any(t.lower() in _HEADER_WORDS for t in ids):
        return True
    if w_col is not None and w_col < len(first):
        weights = [r[w_col] for r in rest if w_col < len(r)]
        if not _is_number(first[w_col]) and weights and all(_is_number(t) for t in weights):
            return True
    if all(_is_number(t) for t in ids):
        return False
    rest_ids = [r[c] for r in rest for c in id_cols if c < len(r)]
    if not rest_ids or any(_is_number(t) for t in ids):
        return False
    if all(_is_number(t) for t in rest_ids):
        return True
    return None


def _first_row_ids_recur(table, src_name, dst_name):
    """Whether an id of the table's first row occurs again anywhere in its id columns."""
    import pyarrow.compute as pc

    src, dst = table.column(src_name), table.column(dst_name)
    for value in {src[0].as_py(), dst[0].as_py()}:
        hits = pc.sum(pc.equal(src, value)).as_py() + pc.sum(pc.equal(dst, value)).as_py()
        if hits > 1 + (src[0].as_py() == dst[0].as_py()):
            return True
    return False


def _shown(name, limit=40):
    """A column name as it can stand in a message: itself when short and printable, else quoted."""
    text = str(name)
    return text if len(text) <= limit and text.isprintable() and text.strip() == text and text \
        else quote(repr(text)[1:-1], limit)


def _listed(names, limit=10, width=40):
    shown = ", ".join(_shown(n, width) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _resolve_columns(path, names, source_col, target_col, weight_col, weighted):
    """Turn names or positions into column names of ``names``."""
    def pick(value, default, what):
        if value is None:
            value = default
        if isinstance(value, str) and value in names:
            return value
        if isinstance(value, str) and _is_int(value):
            value = int(value)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if 0 <= value < len(names):
                return names[value]
            raise InputError(f"{path}: {what} column position {value} is out of range "
                             f"(the file has {len(names)} columns)")
        raise InputError(f"{path}: {what} column {value!r} not found; columns are: {_listed(names)} "
                         f"(choose with --{what}-col NAME or a 0-based position)")

    src = pick(source_col, 0, "source")
    dst = pick(target_col, 1, "target")
    w = None
    if weight_col is not None or weighted:
        if weight_col is None and len(names) < 3:
            raise InputError(f"{path}: weighted=True but the file has no third (weight) column")
        w = pick(weight_col, 2, "weight")
    if len({src, dst, w} - {None}) != 2 + (w is not None):
        raise InputError(f"{path}: source, target and weight must be different columns "
                         f"(got {src!r}, {dst!r}" + (f", {w!r})" if w else ")"))
    return src, dst, w


def _cleaned_text(path, delimiter):
    """The file without comment and blank lines (blank runs collapsed for a space delimiter)."""
    out = []
    with open_text(path) as fh:
        for line in fh:
            stripped = line.strip()
            if _is_comment_or_blank(stripped):
                continue
            out.append(" ".join(stripped.split()) if delimiter == " " else stripped)
    out.append("")
    return "\n".join(out).encode("utf-8")


def _read_text(path, source_col, target_col, weight_col, weighted, header, delimiter):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if delimiter is not None and len(delimiter) != 1:
        raise InputError(f"{path}: delimiter must be one character, got {delimiter!r}")
    if delimiter is None and str(path).lower().removesuffix(".gz").endswith(".tsv"):
        delimiter = "\t"
    skip, delimiter, rows = _sniff(path, delimiter)
    n_cols = len(rows[0])
    if n_cols < 2:
        raise InputError(located(path, f"expected at least 2 columns (source, target), found 1: "
                                       f"{quote(rows[0][0])}", skip + 1))
    by_name = any(isinstance(c, str) and not _is_int(c) for c in (source_col, target_col, weight_col)
                  if c is not None)
    header_note, ambiguous = "given" if header is not None else "none", False
    if header is None:
        id_cols = [int(c) for c in (source_col, target_col) if c is not None and _is_int(c)] or [0, 1]
        w_col = int(weight_col) if weight_col is not None and _is_int(weight_col) else 2 if weighted else None
        verdict = True if by_name else _header_verdict(rows, id_cols, w_col)
        ambiguous = verdict is None
        header = bool(verdict)
        header_note = "detected" if header else "none"
    names = [t.strip('"') for t in rows[0]] if header else [f"c{i}" for i in range(n_cols)]
    if header and len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InputError(located(path, f"duplicate column names in header: {_listed(repeated, 5)}", skip + 1))
    src_name, dst_name, w_name = _resolve_columns(path, names, source_col, target_col, weight_col, weighted)
    data_skip = skip + (1 if header else 0)  # lines before the first edge

    bad_rows = []

    def on_invalid(row):
        text = row.text.strip()
        if not text or text.startswith(COMMENT_PREFIXES):
            return "skip"
        bad_rows.append((row.actual_columns, row.text))
        return "error"

    # The first column is always read: a line whose first field starts with # or % is a comment.
    include = list(dict.fromkeys([names[0], src_name, dst_name] + ([w_name] if w_name is not None else [])))

    def parse(source, skip_rows):
        bad_rows.clear()
        types = {src_name: pa.string(), dst_name: pa.string()}
        if w_name is not None:
            types[w_name] = pa.float64()
        return pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(skip_rows=skip_rows, column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(include_columns=include, column_types=types,
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )

    # Ids are read as text, always: arrow's type inference rewrites some ids ("01" -> 1,
    # "True" -> "true", dates, "N/A" -> missing); exact_integer_ids below turns canonical
    # integers into numbers. Arrow reads the file itself; on failure, the cleaned copy of the
    # text is parsed (comment lines with the right column count, runs of blanks).
    cleaned = None
    try:
        while True:
            try:
                source = pa.input_stream(str(path), compression="detect") if cleaned is None \
                    else pa.BufferReader(cleaned)
                table = parse(source, data_skip if cleaned is None else (1 if header else 0))
                break
            except pa.ArrowInvalid:
                if cleaned is None:
                    cleaned = _cleaned_text(path, delimiter)
                else:
                    raise
    except pa.ArrowInvalid as exc:
        if bad_rows:
            found, text = bad_rows[0]
            if text.count('"') % 2:
                line = _find_line(path, lambda s: s.count('"') % 2 == 1)
                raise InputError(located(path, f"a quoted field is not closed: {quote(text)}", line)) from None
            target = _split(text, delimiter)
            line = _find_line(path, lambda s: _split(s, delimiter) == target)
            raise InputError(located(path, f"expected {n_cols} columns, found {len(target)}: "
                                           f"{quote(text)}", line)) from None
        if w_name is not None and "conversion error to double" in str(exc):
            raise _bad_weight_error(path, data_skip, names.index(w_name), delimiter) from None
        if "utf8" in str(exc).lower():
            raise utf8_error(path) from None
        raise InputError(f"{path}: cannot parse ({short(exc)})") from None
    except UnicodeError:
        raise utf8_error(path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read ({short(exc)})") from None
    del cleaned
    if ambiguous and table.num_rows > 1 and not _first_row_ids_recur(table, src_name, dst_name):
        # every id is a string and the first row's ids occur nowhere else: a header
        table = table.slice(1)
        data_skip += 1
        header_note = "detected"

    first = table.column(names[0])
    if pa.types.is_string(first.type) or pa.types.is_large_string(first.type):
        from graphembed._ids import comment_mask

        comment = comment_mask(first)
        if comment is not None:
            table = table.filter(pa.array(~comment))
        del comment
    del first
    if table.num_rows == 0:
        raise InputError(f"{path}: no edges found")
    from graphembed._ids import exact_integer_ids

    # integer ids first (the common case, and nothing to clean); text ids are trimmed and
    # checked, then tried as integers again
    src, dst = exact_integer_ids(table.column(src_name), table.column(dst_name))
    if pa.types.is_string(src.type) or pa.types.is_large_string(src.type):
        src = _clean_ids(path, src, "source", data_skip, delimiter)
        dst = _clean_ids(path, dst, "target", data_skip, delimiter)
        if pa.types.is_string(src.type) and pa.types.is_string(dst.type):
            src, dst = exact_integer_ids(src, dst)
    w = None
    if w_name is not None:
        w = table.column(w_name).to_numpy()
        _check_weight_values(path, w, data_skip, names.index(w_name), delimiter)
    return src, dst, w, {"header": header_note}


def _clean_ids(path, col, what, skip, delimiter):
    """Ids with surrounding blanks trimmed; a missing (empty) id is an error naming its line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        from graphembed._ids import scan_strings

        has_nul = pc.match_substring(col, "\x00")
        if pc.any(has_nul).as_py():
            row = int(np.flatnonzero(has_nul.to_numpy(zero_copy_only=False))[0])
            raise InputError(located(path, f"NUL character in a {what} id (is this a binary file?)",
                                     _line_of_row(path, skip, row)))
        del has_nul
        blanks, empty = scan_strings(col)
        if blanks:
            col = pc.utf8_trim_whitespace(col)
            missing = pc.equal(col, "")
        elif empty < 0:
            return col
        else:
            raise InputError(located(path, f"{what} id is missing", _line_of_row(path, skip, empty)))
    else:
        if not col.null_count:
            return col
        missing = col.is_null()
    if not pc.any(missing).as_py():
        return col
    row = int(np.flatnonzero(missing.to_numpy(zero_copy_only=False))[0])
    raise InputError(located(path, f"{what} id is missing", _line_of_row(path, skip, row)))


def _data_lines(path, skip):
    """Yield (line number, text) of data lines after ``skip`` leading lines."""
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if number <= skip:
                continue
            stripped = line.strip()
            if stripped and not stripped.startswith(COMMENT_PREFIXES):
                yield number, line


def _line_of_row(path, skip, row):
    """Line number of the ``row``-th (0-based) edge line, or None."""
    for i, (number, _) in enumerate(_data_lines(path, skip)):
        if i == row:
            return number
    return None


def _find_line(path, predicate):
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if predicate(line):
                return number
    return None


def _bad_weight_error(path, skip, w_index, delimiter):
    for number, line in _data_lines(path, skip):
        fields = _split(line, delimiter)
        token = fields[w_index] if w_index < len(fields) else ""
        if token and not _is_number(token):
            return InputError(located(path, f"weight {token!r} is not a number", number))
    return InputError(f"{path}: a weight is not a number")


def _check_weight_values(path, w, skip, w_index, delimiter):
    from graphembed.io.validate import bad_weight

    found = bad_weight(w)
    if found is None:
        return
    row, problem = found
    if np.isnan(w[row]) or np.isinf(w[row]):
        problem = f"weight {w[row]} is not finite"
    line = None
    for i, (number, text) in enumerate(_data_lines(path, skip)):
        if i == row:
            line = number
            fields = _split(text, delimiter)
            if w_index >= len(fields) or not fields[w_index]:
                problem = "weight is missing"
            break
    raise InputError(located(path, problem, line))


# ---------------------------------------------------------------------------- other formats

def _read_parquet(path, source_col, target_col, weight_col, weighted, header, delimiter):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(str(path))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({short(exc)})") from None
    names = list(schema.names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{path}: column names repeat ({_listed(repeated)}); name each column once")
    if "embedding" in names and source_col is None and target_col is None:
        raise InputError(f"{path}: this looks like an embedding file (columns {', '.join(names)}), "
                         "not an edge list")
    if len(names) < 2 and (source_col is None or target_col is None):
        raise InputError(f"{path}: an edge list needs a source and a target column; found "
                         f"{', '.join(names) or 'no columns'}")
    src_name, dst_name, w_name = _resolve_columns(path, names, source_col, target_col, weight_col, weighted)
    try:
        table = pq.read_table(str(path), columns=[c for c in (src_name, dst_name, w_name) if c is not None])
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read its Parquet data ({short(exc)})") from None
    if table.num_rows == 0:
        raise InputError(f"{path}: no edges found")
    try:
        src = _parquet_ids(path, table.column(src_name), _shown(src_name, 20))
        dst = _parquet_ids(path, table.column(dst_name), _shown(dst_name, 20))
    except InputError as exc:
        if source_col is not None and target_col is not None:
            raise
        # the columns were taken by position: say which, and how to choose others
        raise InputError(f"{exc} (the first two columns are read; choose with --source-col/--target-col: "
                         f"{_listed(names, 5, 20)})") from None
    w = None
    if w_name is not None:
        col = table.column(w_name)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise InputError(f"{path}: weight column {_shown(w_name)!r} is not numeric ({col.type})")
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{path}: row {row + 1}: weight is missing")
        w = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        from graphembed.io.validate import check_weights

        check_weights(w, path, unit="row")
    return src, dst, w, {}


def _parquet_ids(path, col, name):
    """An id column of a Parquet edge list, exact: integers or strings; floats only when every
    value is a whole number below 2^53; nulls, NaN and nested types are refused."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = col.type
    if pa.types.is_dictionary(kind):
        col = col.cast(kind.value_type)
        kind = col.type
    if col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{path}: row {row + 1}: {name} id is missing")
    if pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return col
    if pa.types.is_floating(kind):
        values = col.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) >= 2.0**53)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if np.isnan(values[row]):
                raise InputError(f"{path}: row {row + 1}: {name} id is missing (NaN)")
            raise InputError(f"{path}: row {row + 1}: {name} id {float(values[row]):.6g} is not a whole number "
                             "a float holds exactly (store ids as integers or strings)")
        return pc.cast(col, pa.int64())
    raise InputError(f"{path}: {name} ids must be integers or strings, not {kind}")


def _read_npz(path):
    import zipfile

    import scipy.sparse as sp

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a scipy sparse .npz file (not a zip archive)")
    try:
        return sp.load_npz(str(path))
    except Exception as exc:  # zipfile/KeyError/ValueError depending on the damage
        raise InputError(f"{path}: not a scipy sparse .npz file ({short(exc)})") from None


def _read_gml(path, directed, weighted, self_loops):
    import networkx as nx

    try:
        try:
            g = nx.read_gml(str(path))
        except nx.NetworkXError:
            g = nx.read_gml(str(path), label="id")
    except Exception as exc:  # networkx raises several types on malformed GML
        raise InputError(f"{path}: not a readable GML file ({short(exc, 120)})") from None
    if directed is not None and directed != g.is_directed():
        g = g.to_directed() if directed else g.to_undirected()
    weight = "weight" if weighted is not False else None
    out = Graph.from_networkx(g, weight=weight, self_loops=self_loops, source=path)
    if weighted and out.weights is None:
        raise InputError(f"{path}: --weighted but no edge has a 'weight' attribute")
    return out


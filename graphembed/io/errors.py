"""User-facing errors: the CLI turns them into one line on stderr and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: a file, a column, a parameter.

    The message names the file (and line, where known) or the parameter and what is wrong,
    e.g. ``edges.csv: line 7: expected 2 columns (source, target), found 1: '42'``.
    """


def located(path, problem, line=None):
    """Format ``path: line N: problem`` (line omitted when unknown)."""
    where = f"{path}: line {line}: " if line is not None else f"{path}: "
    return where + problem

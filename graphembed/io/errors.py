"""User-facing errors: the CLI turns them into one line on stderr and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: a file, a column, a parameter.

    The message names the file (and line, where known) or the parameter and what is wrong,
    e.g. ``edges.csv: line 7: expected 2 columns (source, target), found 1: '42'``.
    The message is always one line of bounded length: runs of whitespace (newlines from a
    library's error text) collapse to one space and it is cut at ``MAX_LENGTH`` characters.
    """

    MAX_LENGTH = 500

    def __init__(self, message="", *args):
        text = " ".join(str(message).split())
        if len(text) > self.MAX_LENGTH:
            text = text[: self.MAX_LENGTH - 3] + "..."
        super().__init__(text, *args)


def located(path, problem, line=None):
    """Format ``path: line N: problem`` (line omitted when unknown)."""
    where = f"{path}: line {line}: " if line is not None else f"{path}: "
    return where + problem

"""Reading text input: UTF-8 (with or without a byte-order mark, ``.gz`` decompressed), and the
short, bounded quotes of input that error messages carry."""
import gzip
import zlib

from graphembed.io.errors import InputError, located

COMMENT_PREFIXES = ("#", "%")


def open_text(path, errors="strict"):
    """The file as text: UTF-8 with an optional byte-order mark, ``.gz`` decompressed."""
    if str(path).lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors=errors, newline=None)
    return open(path, "r", encoding="utf-8-sig", errors=errors, newline=None)


def utf8_error(path):
    """InputError naming the first line of ``path`` that is not UTF-8 (for a decode failure)."""
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return InputError(located(path, f"not UTF-8 text (byte {exc.start + 1} of the line)", number))
    except (OSError, EOFError, zlib.error) as exc:
        return InputError(f"{path}: cannot read ({short(exc)})")
    return InputError(f"{path}: not UTF-8 text")


def quote(text, limit=80):
    """``repr`` of a piece of input, cut to about ``limit`` characters."""
    text = text.strip()
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def short(exc, limit=160):
    return " ".join(str(exc).split())[:limit]

"""CLI flags made from an estimator's parameter table (:class:`graphembed.base.Param`): the flag's
type, range, choices, default and help come from the table, so the CLI restates nothing."""
import re

import click

_COUNT = re.compile(r"^(\d+(?:\.\d*)?(?:e\d+)?|\.\d+)([kmbgt]?)$")
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}


class _OrLiteral(click.ParamType):
    """A number type that also takes literal words ('auto')."""

    def __init__(self, base, literals):
        self.base, self.literals = base, tuple(literals)
        self.name = f"{base.name}|{'|'.join(self.literals)}"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.strip().lower() in self.literals:
            return value.strip().lower()
        return self.base.convert(value, param, ctx)


def _float_list(ctx, param, value):
    if value is None or isinstance(value, (list, tuple)):
        return None if value is None else [float(x) for x in value]
    try:
        return [float(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


def flag_name(name, param):
    return "--" + (param.cli or name).replace("_", "-")


def param_option(name, param, help=None):
    """One click option for the table entry ``name`` (the option's key in ``opts`` is ``name``)."""
    flag = flag_name(name, param)
    text = help or param.help
    literals = [v for v in param.also if isinstance(v, str)]
    default = param.default
    kwargs = {}
    if param.kind == "bool":
        return click.option(f"{flag}/--no-{flag[2:]}", name, default=default, show_default=True, help=text)
    if param.kind == "floats":
        kwargs = dict(callback=_float_list, default=",".join(f"{x:g}" for x in default) if default else None)
    elif param.kind == "str" and param.choices is not None:
        kwargs = dict(type=click.Choice([str(c) for c in param.choices]), default=default)
    elif param.kind in ("int", "float"):
        if param.low is None and param.high is None:
            base = click.INT if param.kind == "int" else click.FLOAT
        elif param.kind == "int":
            base = click.IntRange(min=param.low, max=param.high)
        else:
            base = click.FloatRange(min=param.low, max=param.high, min_open=param.low_open,
                                    max_open=param.high_open)
        kwargs = dict(type=_OrLiteral(base, literals) if literals else base, default=default)
    else:
        kwargs = dict(default=default)
    return click.option(flag, name, show_default=default is not None, help=text, **kwargs)


def estimator_options(table, names, help=None):
    """A decorator adding the flags of ``table[names]`` (a table of :mod:`graphembed.params`;
    ``help`` overrides by name)."""
    help = help or {}

    def decorate(func):
        for name in reversed(list(names)):
            func = param_option(name, table[name], help.get(name))(func)
        return func

    return decorate


def estimator_kwargs(opts, names):
    """The estimator keyword arguments of ``names`` from a command's options."""
    return {name: opts[name] for name in names}


def parse_count(text, upper=None, what="count"):
    """'100M' -> 100_000_000, '1.5M', '100000', '1e6', '20k', '1_000'; None for None or 'auto'.

    Raises ValueError for anything else, a count that is not a positive whole number, or one
    above ``upper``.
    """
    if text is None or str(text).strip().lower() in ("", "auto"):
        return None
    match = _COUNT.match(str(text).strip().lower().replace("_", ""))
    if not match:
        raise ValueError(f"expected a {what} such as 100M, 1.5M, 500k or 100000, got {text!r}")
    number, suffix = match.groups()
    value = float(number) * _SUFFIX[suffix]
    if value < 1 or value != int(value):
        raise ValueError(f"expected a positive whole {what}, got {text!r}")
    if upper is not None and value > upper:
        raise ValueError(f"at most {upper:.0e}, got {text!r}")
    return int(value)


def count_callback(upper=None, what="count"):
    """A click callback parsing a count flag with :func:`parse_count`."""
    def callback(ctx, param, value):
        try:
            return parse_count(value, upper, what)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


# ---------------------------------------------------------------- the options every command shares
# Each is declared here once; a command picks the ones it has and may word the help for itself.
THREADS_EXACT = "Threads (default: all cores). The output is bit-identical for any number."
THREADS_HOGWILD = ("Threads (default: all cores). Bit-identical output with --threads 1 and --seed; "
                   "with more threads the quality, not the bits, is reproducible.")


def seed_option(default=None, help="Random seed."):
    """``--seed`` (a non-negative integer; ``None`` draws one, recorded in the output)."""
    return click.option("--seed", type=click.IntRange(min=0), default=default,
                        show_default=default is not None, help=help)


def threads_option(help=THREADS_EXACT, default=None):
    """``--threads`` with the command's own wording of what the count changes."""
    return click.option("--threads", type=click.IntRange(min=1), default=default,
                        show_default=default is not None, help=help)


def quiet_option(help="No progress bar or summary.", hidden=False):
    """``-q/--quiet``: no progress bars, no summary line, no warnings."""
    return click.option("--quiet", "-q", is_flag=True, help=help, hidden=hidden)


def json_option(help="Print one JSON summary on stdout."):
    """``--json``: one JSON document on stdout (the key is ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def output_options(required=True, help="Embedding file (.parquet, .csv, .tsv, .npz, .w2v)."):
    """``-o/--output`` and ``--format`` of an embedding file."""
    from graphembed.params import EMBEDDING_FORMATS

    def decorate(func):
        func = click.option("--format", "output_format", type=click.Choice(EMBEDDING_FORMATS),
                            help="Embedding format (default: from the output extension).")(func)
        return click.option("-o", "--output", required=required, type=click.Path(dir_okay=False),
                            default=None, help=help)(func)

    return decorate


def index_option(help="Also build a nearest-neighbour index directory (auto type, cosine)."):
    """``--index DIR``: also build a nearest-neighbour index of the embedding."""
    return click.option("--index", "index_path", type=click.Path(file_okay=False), default=None, help=help)


def report_options(quiet_help="No progress bar or summary.", json_help="Print one JSON summary on stdout."):
    """``-q/--quiet`` and ``--json`` together."""
    def decorate(func):
        return quiet_option(quiet_help)(json_option(json_help)(func))

    return decorate

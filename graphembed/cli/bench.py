"""``graphembed bench``: reproduce published tables."""
import json

import click

from graphembed.cli.common import ReportingGroup, pass_options, require
from graphembed.cli.options import report_options, seed_option, threads_option
from graphembed.tasks import paper as _paper  # numpy-free at import: the one list of each

DATASETS = tuple(_paper.DATASETS)
METHODS = _paper.METHODS


def _csv_choice(choices):
    def callback(ctx, param, value):
        if value is None:
            return list(choices)
        items = [v.strip().lower() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in choices]
        if bad or not items:
            from graphembed.io.errors import InputError

            raise InputError(f"--{param.name}: choose from {', '.join(choices)} (comma-separated), "
                             f"got {value!r}")
        return items
    return callback


def _pq(ctx, param, values):
    out = {}
    for item in values or ():
        name, sep, rest = item.partition("=")
        from graphembed.io.errors import InputError

        try:
            p, q = (float(x) for x in rest.split(","))
        except ValueError:
            raise InputError(f"--pq: expected DATASET=P,Q, got {item!r}") from None
        if not sep or name not in DATASETS or p <= 0 or q <= 0:
            raise InputError(f"--pq: expected DATASET=P,Q with DATASET in {', '.join(DATASETS)} "
                             f"and P, Q > 0, got {item!r}")
        out[name] = (p, q)
    return out


@click.group(cls=ReportingGroup)
def bench():
    """Reproduce published tables with graphembed's methods.

    \b
    graphembed bench paper --data ../shared/datasets/raw
    """


@bench.command()
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with blogcatalog.mat, Homo_sapiens.mat, POS.mat, facebook_combined.txt, "
                   "ca-AstroPh.header-nm.txt.")
@click.option("--datasets", default=None, callback=_csv_choice(DATASETS),
              help=f"Comma-separated subset of {', '.join(DATASETS)} (default: all).")
@click.option("--methods", default=None, callback=_csv_choice(METHODS),
              help=f"Comma-separated subset of {', '.join(METHODS)} (default: all).")
@click.option("--pq", multiple=True, callback=_pq, metavar="DATASET=P,Q",
              help="node2vec p, q for a dataset, repeatable (default: the table in graphembed.tasks.paper).")
@click.option("--select-pq", "select_pq", is_flag=True,
              help="Choose node2vec's p, q on BlogCatalog, PPI and Wikipedia as the paper did: grid "
                   "{0.25, 0.5, 1, 2, 4}^2, 10-fold cross-validated Macro-F1 on a random 10% of the "
                   "labelled nodes (25 fits per dataset). Facebook and arXiv keep their p, q.")
@click.option("--splits", type=click.IntRange(min=1), default=5, show_default=True,
              help="Random 50% splits averaged for Macro-F1.")
@click.option("--quick", is_flag=True, help="Smoke run: 2 walks of length 20, one split (not a result).")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the rows as JSON.")
@seed_option(0)
@threads_option("Threads (default: all cores).")
@report_options("No progress lines.", "Print the rows as one JSON document.")
@pass_options
def paper(opts):
    """node2vec paper (KDD 2016) Table 2 (Macro-F1) and Table 4 Hadamard rows (AUC), ours next to
    the published numbers, with the time each took. Heavy: tens of minutes on two cores.

    \b
    graphembed bench paper --data ../shared/datasets/raw --datasets ppi,facebook
    """
    if {"deepwalk", "node2vec"} & set(opts["methods"]):
        require("gensim")  # their skip-gram; before hours of other methods
    from pathlib import Path

    from graphembed.io.errors import InputError
    from graphembed.tasks.paper import markdown, run

    if not Path(opts["data_dir"]).is_dir():
        raise InputError(f"{opts['data_dir']}: data folder not found")
    if opts["select_pq"]:
        both = sorted(d for d in opts["pq"] if d in ("blogcatalog", "ppi", "wikipedia"))
        if both:
            raise InputError(f"--pq {both[0]}=... and --select-pq both set node2vec's p, q on {both[0]}; "
                             f"give one of them")
    verbose = not opts["quiet"] and not opts["as_json"]
    rows = run(opts["data_dir"], opts["datasets"], opts["methods"], splits=opts["splits"],
               seed=opts["seed"], threads=opts["threads"], quick=opts["quick"], pq=opts["pq"],
               select=opts["select_pq"], log=(lambda s: click.echo(s, err=True)) if verbose else None)
    if opts["json_out"]:
        from graphembed.io.atomic import atomic_path

        with atomic_path(opts["json_out"]) as tmp:
            Path(tmp).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    if opts["as_json"]:
        click.echo(json.dumps({"quick": opts["quick"], "rows": rows}, default=str))
        return
    if opts["quick"]:
        click.echo("(--quick: 2 walks of length 20, one split; a smoke run, not a result)\n")
    click.echo(markdown(rows))

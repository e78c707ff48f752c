"""``graphembed``: a click group whose commands come from entry points, imported on demand."""
import sys

import click

from graphembed import __version__


class LazyGroup(click.Group):
    """Lists commands from the ``graphembed.commands`` entry points; imports one only when used.

    A command that fails to import shows a warning and a placeholder, never breaks the CLI.
    """

    def list_commands(self, ctx):
        from graphembed.registry import command_names

        return command_names()

    def get_command(self, ctx, name):
        from graphembed.registry import command_entry_point

        ep = command_entry_point(name)
        if ep is None:
            return None
        try:
            command = ep.load()
            if not isinstance(command, click.Command):
                raise TypeError(f"{ep.value} is not a click command")
            return command
        except Exception as exc:  # a broken plugin must not break the CLI
            click.echo(f"graphembed: warning: command {name!r} failed to load ({ep.value}): "
                       f"{type(exc).__name__}: {exc}", err=True)
            return _placeholder(name, exc)

    def invoke(self, ctx):
        from graphembed.cli.common import run_reporting_errors

        return run_reporting_errors(lambda: super(LazyGroup, self).invoke(ctx))

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's main, with usage errors and warnings as one line each on stderr."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        import warnings

        argv = sys.argv[1:] if args is None else list(args)
        with warnings.catch_warnings():  # the caller's warning state comes back afterwards
            if "-q" in argv or "--quiet" in argv:
                warnings.simplefilter("ignore")
            warnings.showwarning = _show_warning
            self._main(argv, prog_name, complete_var, **extra)
        sys.exit(0)

    def _main(self, argv, prog_name, complete_var, **extra):
        try:
            super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "graphembed"
            hint = f" (see '{command} --help')" if exc.ctx is not None else ""
            click.echo(f"{command}: error: {_one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"graphembed: error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("graphembed: aborted", err=True)
            sys.exit(1)


def _one_line(text):
    from graphembed.cli.common import one_line

    return one_line(text)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"graphembed: warning: {_one_line(message)}", err=True)


def _placeholder(name, exc):
    @click.command(name=name, help=f"[unavailable: failed to load: {exc}]",
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def broken():
        click.echo(f"graphembed: error: command {name!r} is unavailable: {exc}", err=True)
        sys.exit(2)

    return broken


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graphembed")
def cli():
    """Fast graph embeddings and graph analytics.

    \b
    graphembed info edges.csv
    graphembed fastrp edges.csv -o emb.parquet --dim 128
    """


if __name__ == "__main__":  # pragma: no cover
    cli()

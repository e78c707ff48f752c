"""``graphembed plugins``: installed plugin packages, their versions and devices."""
import click

from graphembed.cli.common import pass_options, report
from graphembed.cli.options import json_option, quiet_option


def _distributions():
    from importlib.metadata import distributions

    return distributions()


def _plugin_distributions():
    """{distribution name: {"version", "commands", "embedders", "info"}} of every installed package
    other than graphembed that registers graphembed entry points (nothing is imported)."""
    groups = {"graphembed.commands": "commands", "graphembed.embedders": "embedders",
              "graphembed.plugin_info": "info"}
    found, seen = {}, set()
    for dist in _distributions():
        name = dist.metadata["Name"] or "?"
        key = name.lower().replace("_", "-")
        if key == "graphembed" or key in seen:
            continue  # the same distribution can show twice (an egg-info in the working dir)
        seen.add(key)
        eps = [ep for ep in dist.entry_points if ep.group in groups]
        if not any(ep.group != "graphembed.plugin_info" for ep in eps):
            continue
        entry = found.setdefault(name, {"version": dist.version, "commands": [], "embedders": [],
                                        "info": []})
        for ep in eps:
            entry[groups[ep.group]].append(ep)
    return found


@click.command()
@click.option("--no-devices", is_flag=True, help="Skip the device check (imports no plugin code).")
@json_option("Print one JSON document on stdout.")
@quiet_option(None, hidden=True)
@pass_options
def plugins(opts):
    """Installed plugins: version, commands, embedders and the devices they can use.

    \b
    graphembed plugins
    graphembed plugins --json
    """
    found = _plugin_distributions()
    rows = []
    for name in sorted(found, key=str.lower):
        entry = found[name]
        row = {"name": name, "version": entry["version"],
               "commands": sorted(ep.name for ep in entry["commands"]),
               "embedders": sorted(ep.name for ep in entry["embedders"])}
        if not opts["no_devices"]:
            # only now may a plugin import torch & co; a broken one gives a note, not a crash
            devices, notes = [], []
            for ep in entry["info"]:
                try:
                    info = ep.load()()
                    devices.extend(info.get("devices", []))
                    if info.get("error"):
                        notes.append(str(info["error"]))
                except Exception as exc:  # noqa: BLE001 - a plugin's own failure
                    notes.append(f"{ep.value} failed: {type(exc).__name__}: {exc}")
            row["devices"] = devices
            if notes:
                row["notes"] = notes
        rows.append(row)
    if opts["as_json"]:
        report({"plugins": rows}, opts, "")
        return
    if not rows:
        click.echo("no plugins installed (a plugin registers graphembed.commands or "
                   "graphembed.embedders entry points, e.g. pip install -e plugins/graphembed-gnn)")
        return
    for row in rows:
        click.echo(f"{row['name']} {row['version']}")
        click.echo(f"  commands:  {', '.join(row['commands']) or '-'}")
        click.echo(f"  embedders: {', '.join(row['embedders']) or '-'}")
        if "devices" in row:
            click.echo(f"  devices:   {', '.join(row['devices']) or 'unknown'}")
        for note in row.get("notes", []):
            click.echo(f"  note:      {note}")

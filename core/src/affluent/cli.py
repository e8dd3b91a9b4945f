"""The ``affluent`` command."""

from __future__ import annotations

import click

from affluent import __version__


@click.group()
@click.version_option(__version__, prog_name="affluent")
def main() -> None:
    """affluent: Digital River's standard flow for any commerce platform."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--smoke", is_flag=True, help="Start a server, walk one guest order to complete, stop.")
def sandbox(host: str, port: int, smoke: bool) -> None:
    """Run the local Digital River emulator."""
    from affluent.sandbox import server

    if smoke:
        raise SystemExit(server.smoke())
    server.run(host=host, port=port)


@main.group()
def adapters() -> None:
    """Inspect installed adapters."""


@adapters.command("list")
def adapters_list() -> None:
    """Print each installed adapter: name, distribution, version, hooks."""
    from rich.console import Console
    from rich.table import Table

    from affluent.plugins import Adapters

    loaded = Adapters.load()
    table = Table("adapter", "distribution", "version", "hooks")
    for name in loaded.names:
        info = loaded.info(name)
        table.add_row(name, info.distribution, info.version, "\n".join(info.hooks) or "(none)")
    Console().print(table)


@main.group()
def db() -> None:
    """Manage the store's schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to AFFLUENT_DATABASE_URL."""
    from affluent.settings import Settings
    from affluent.store import Store

    store = Store(Settings().database_url)
    store.upgrade()
    click.echo(f"{store!r} is at the newest migration")

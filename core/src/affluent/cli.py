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
@click.option(
    "--smoke", is_flag=True, help="Start a server, walk one guest order to complete, stop."
)
def sandbox(host: str, port: int, smoke: bool) -> None:
    """Run the local Digital River emulator."""
    from affluent.sandbox import server

    if smoke:
        raise SystemExit(server.smoke())
    server.run(host=host, port=port)


@main.command()
@click.option("--orders", type=click.IntRange(1, 1_000_000), help="Run N mixed orders instead.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--adapter", "names", multiple=True, help="Only these adapters (default: all).")
def demo(orders: int | None, concurrency: int, names: tuple[str, ...]) -> None:
    """Run every standard-flow scenario for every installed adapter; exit 1 on any mismatch."""
    import asyncio

    from rich.console import Console
    from rich.progress import Progress

    from affluent.demo import SCENARIOS, render, run_demo
    from affluent.plugins import Adapters

    console = Console(width=max(Console().width, 132))
    loaded = Adapters.load(list(names) or None)
    total = orders or len(SCENARIOS) * len(loaded.names)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("running scenarios", total=total)
        report = asyncio.run(
            run_demo(
                loaded,
                orders=orders,
                concurrency=concurrency,
                on_row=lambda _row: progress.advance(task),
            )
        )
    if not report.rows:
        console.print("[red]no installed adapter provides a platform fake; nothing to run[/red]")
        raise SystemExit(1)
    render(console, report, detailed=orders is None)
    raise SystemExit(0 if report.ok else 1)


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

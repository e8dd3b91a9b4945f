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
    loaded = Adapters.load(list(names) or None).with_examples()
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


@adapters.command("check")
@click.argument("name")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="Validate this file.")
@click.option("--sample", type=click.Path(exists=True, dir_okay=False), help="Translate this.")
def adapters_check(name: str, config: str | None, sample: str | None) -> None:
    """Run the conformance suite against adapter NAME and print a table.

    With --config, validate the adapter's configuration file instead (and translate --sample).
    """
    from rich.console import Console

    from affluent.errors import AdapterError
    from affluent.plugins import Adapters

    console = Console(width=max(Console().width, 132))
    if config is None:
        if sample is not None:
            raise click.UsageError("--sample needs --config")
        from affluent.testing.check import run_conformance

        raise SystemExit(run_conformance(name, console))
    hooks = Adapters.load([name]).hooks(name)
    try:
        report = hooks.check_config(config, sample)
    except AdapterError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise SystemExit(1) from None
    console.print(report, markup=False, highlight=False)


@main.group()
def db() -> None:
    """Manage the store's schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to AFFLUENT_DATABASE_URL."""
    from affluent.settings import Settings
    from affluent.store import Store
    from affluent.store.migrate import migrate

    store = Store(Settings().database_url)
    upgraded = migrate(store)  # under a lock: safe when several processes start together
    click.echo(f"{store!r} {'upgraded to' if upgraded else 'already at'} the newest migration")


from affluent.service.commands import events, reconcile, serve, worker  # noqa: E402

main.add_command(serve)
main.add_command(worker)
main.add_command(reconcile)
main.add_command(events)

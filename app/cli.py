"""``flask seed ...``: the notice, the demo and synthetic data."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

seed_cli = AppGroup("seed", help="Load the notice's data, the demo accounts or synthetic cases.")


@seed_cli.command("all")
@click.option("--demo/--no-demo", default=None, help="Demo accounts (default: DEMO_MODE).")
def seed_all_command(demo):
    """Regions, departments, items, materials, rules, calendar and roles (idempotent)."""
    from app.seeding import seed_all

    if demo is None:
        demo = current_app.config["DEMO_MODE"]
    if demo and current_app.config.get("APP_ENV") == "production":
        raise click.ClickException("Demo accounts are never created in production.")
    started = time.perf_counter()
    added = seed_all(demo=demo)
    click.echo(f"Seeded the notice ({added} new calendar days, demo accounts: {'yes' if demo else 'no'}) "
               f"in {time.perf_counter() - started:.2f} s.")


@seed_cli.command("synthetic")
@click.option("--cases", "count", type=int, default=1000, show_default=True, help="How many cases.")
@click.option("--months", type=int, default=24, show_default=True, help="Spread over the last N months.")
@click.option("--seed", "random_seed", type=int, default=20211012, show_default=True, help="Random seed.")
def seed_synthetic_command(count, months, random_seed):
    """N plausible cases over the demo counties, with tasks in every state."""
    from app.synthetic import generate

    if current_app.config.get("APP_ENV") == "production":
        raise click.ClickException("Synthetic cases are never created in production.")
    started = time.perf_counter()
    with click.progressbar(length=count, label="Cases") as bar:
        made = generate(count, months=months, random_seed=random_seed, progress=bar.update)
    click.echo(f"Created {made['cases']} cases and {made['tasks']} tasks in {time.perf_counter() - started:.1f} s.")


def register_cli(app):
    app.cli.add_command(seed_cli)

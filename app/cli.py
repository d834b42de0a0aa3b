"""``flask seed ...``: the notice, the demo and synthetic data."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

seed_cli = AppGroup("seed", help="Load the notice's data, the demo accounts or synthetic cases.")


@seed_cli.command("all")
@click.option("--demo/--no-demo", default=None, help="Demo accounts (default: DEMO_MODE).")
@click.option("--restore", is_flag=True, help="Bring the notice's rows back to the notice (undoes administrators' edits).")
def seed_all_command(demo, restore):
    """Regions, departments, items, materials, rules, calendar and roles (idempotent):
    adds what is missing and keeps existing rows, unless --restore."""
    from app.seeding import seed_all

    if demo is None:
        demo = current_app.config["DEMO_MODE"]
    if demo and current_app.config.get("APP_ENV") == "production":
        raise click.ClickException("Demo accounts are never created in production.")
    started = time.perf_counter()
    added = seed_all(demo=demo, restore=restore)
    click.echo(f"Seeded the notice ({added} new calendar days, demo accounts: {'yes' if demo else 'no'}, "
               f"{'restored to the notice' if restore else 'existing rows kept'}) "
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


report_cli = AppGroup("report", help="Write the managers' reports to files (for scheduled printing).")


def _report_region(code):
    from app.extensions import db
    from app.models import Region

    region = db.session.query(Region).filter_by(code=code).one_or_none()
    if region is None:
        raise click.BadParameter(f"no region with the code {code}", param_hint="--region")
    return region


def _report_format(fmt, output):
    if fmt:
        return fmt
    return "csv" if output.lower().endswith(".csv") else "pdf"


def _write_report(output, make):
    """Run ``make(progress)`` under a progress bar and write the bytes it returns."""
    started = time.perf_counter()
    with click.progressbar(length=100, label="Report") as bar:
        def progress(done, total):
            bar.update(round(100 * done / total) - bar.pos)

        content = make(progress)
    with open(output, "wb") as f:
        f.write(content)
    click.echo(f"Wrote {output} ({len(content):,} bytes) in {time.perf_counter() - started:.1f} s.")


_region_option = click.option("--region", "region_code", required=True, help="Region code, e.g. 361125 (its whole subtree).")
_output_option = click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
_format_option = click.option("--format", "fmt", type=click.Choice(["pdf", "csv"]),
                              help="pdf or csv (default: from the output's extension, else pdf).")


@report_cli.command("statistics")
@_region_option
@click.option("--month", help="A calendar month, YYYY-MM (default: last month).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day of a date range.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of a date range.")
@_format_option
@_output_option
def report_statistics_command(region_code, month, start, end, fmt, output):
    """The statistics report of a region for a month or a date range."""
    from app.domain.statistics import Period
    from app.extensions import db
    from app.reporting import statistics_report
    from app.security.scope import Scope

    try:
        if start or end:
            period = Period.parse(start=start and start.date(), end=end and end.date())
        else:
            period = Period.parse(month=month) if month else Period.last_month()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    region = _report_region(region_code)
    # The command line is the operator's: it sees the whole region asked for.
    _write_report(output, lambda progress: statistics_report(
        db.session, region, period, scope=Scope(sees_all=True), fmt=_report_format(fmt, output), progress=progress))


@report_cli.command("overdue")
@_region_option
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Only deadlines on or after this day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Only deadlines on or before this day.")
@_format_option
@_output_option
def report_overdue_command(region_code, start, end, fmt, output):
    """The overdue supervision list (超时督办清单) of a region, as of today."""
    from app.extensions import db
    from app.reporting import overdue_report
    from app.security.scope import Scope

    region = _report_region(region_code)
    _write_report(output, lambda progress: overdue_report(
        db.session, region, scope=Scope(sees_all=True), fmt=_report_format(fmt, output),
        deadline_from=start and start.date(), deadline_to=end and end.date(), progress=progress))


def register_cli(app):
    app.cli.add_command(seed_cli)
    app.cli.add_command(report_cli)

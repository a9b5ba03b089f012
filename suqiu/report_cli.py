"""`suqiu report`, `suqiu analytics rebuild|hotspots` and `suqiu privacy erase`.

Progress goes to stderr; written files and results to stdout.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["register"]

analytics_app = typer.Typer(no_args_is_help=True, help="Aggregates and hotspots (docs/reports.md).")
privacy_app = typer.Typer(no_args_is_help=True, help="Personal-data requests, recorded in the audit log.")
err = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


def _period(month: str | None, week: str | None, start: str | None, end: str | None):
    from suqiu.services.analytics.domain.report import period_for

    given = [x for x in (month, week, start or end) if x]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --month, --week, or --from with --to")
    try:
        return period_for(month=month, week=week,
                          start=date.fromisoformat(start) if start else None,
                          end=date.fromisoformat(end) if end else None)
    except ValueError as exc:
        raise typer.BadParameter(f"bad period: {exc}") from exc


def _parts():
    from suqiu.services.analytics.app import hotspot_policy, limits_of
    from suqiu.services.analytics.repository import AnalyticsRepository
    from suqiu.services.analytics.settings import AnalyticsSettings
    from suqiu.shared.catalogue import load_catalogue
    from suqiu.shared.settings import CommonSettings
    from suqiu.shared.store import Store

    common, settings = CommonSettings(), AnalyticsSettings()
    store = Store(common.mongo_url, common.mongo_db)
    catalogue = load_catalogue(common.catalogue_path)
    return (store, AnalyticsRepository(store), catalogue,
            limits_of(catalogue, settings.timezone, common.catalogue_path),
            hotspot_policy(settings))


Month = Annotated[str | None, typer.Option("--month", help="YYYY-MM")]
Week = Annotated[str | None, typer.Option("--week", help="YYYY-Www (ISO week)")]
From = Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")]
To = Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD")]


def report(month: Month = None, week: Week = None, start: From = None, end: To = None,
           department: Annotated[str | None, typer.Option(help="department id")] = None,
           region: Annotated[str | None, typer.Option(help="district (区县)")] = None,
           formats: Annotated[str, typer.Option("--format", help="html,xlsx,csv")] = "html,xlsx,csv",
           out: Annotated[Path, typer.Option(help="output directory")] = Path("reports")) -> None:
    """The statistics report (统计分析) of a month, week or date range, from the aggregates."""
    from suqiu.services.analytics.render import FORMATS, write_report
    from suqiu.services.analytics.reporting import make_report, steps

    period = _period(month, week, start, end)
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    if not fmts or any(f not in FORMATS for f in fmts):
        raise typer.BadParameter(f"--format: any of {', '.join(FORMATS)}")
    filters = {k: v for k, v in (("department", department), ("district", region)) if v}
    out.mkdir(parents=True, exist_ok=True)
    stem = "report-" + (month or week or f"{start}_{end}") + "".join(f"-{v}" for v in filters.values())

    async def go() -> list[Path]:
        store, repo, catalogue, _, _ = _parts()
        try:
            with _progress() as bar:
                task = bar.add_task("reading aggregates", total=steps(period) + len(fmts))
                rep = await make_report(repo, period, filters,
                                        tick=lambda _p: bar.advance(task),
                                        department_names={d.id: d.name for d in catalogue.departments})
                written = []
                for f in fmts:
                    bar.update(task, description=f"writing {f}")
                    written.append(write_report(rep, f, out / f"{stem}.{f}"))
                    bar.advance(task)
                return written
        finally:
            await store.close()

    for path in asyncio.run(go()):
        typer.echo(str(path))


def rebuild_cmd(month: Month = None, week: Week = None, start: From = None, end: To = None,
                write: Annotated[bool, typer.Option("--write", help="replace the maintained "
                                                    "aggregates with the recomputed ones")] = False,
                lookback: Annotated[int, typer.Option(help="days of orders before the period")] = 120,
                ) -> None:
    """Recompute a period's aggregates from the orders; compare (default) or --write them."""
    from suqiu.services.analytics.rebuild import compare, rebuild, rebuild_partitions

    period = _period(month, week, start, end)

    async def go() -> int:
        store, repo, _, limits, _ = _parts()
        try:
            with _progress() as bar:
                task = bar.add_task("reading orders", total=None)
                docs = await rebuild(repo, period, limits, lookback_days=lookback,
                                     tick=lambda n: bar.advance(task, n))
            if write:
                await repo.replace_partitions(rebuild_partitions(period), list(docs.values()))
                typer.echo(f"rebuilt {len(docs)} aggregate documents of {period.label}")
                return 0
            diffs = await compare(repo, period, docs)
        finally:
            await store.close()
        for _id, counter, a, b in diffs[:50]:
            typer.echo(f"{_id} {counter}: maintained {a}, recomputed {b}")
        typer.echo(f"{len(docs)} documents recomputed, {len(diffs)} counters differ")
        return 1 if diffs else 0

    raise typer.Exit(asyncio.run(go()))


def erase_cmd(phone: Annotated[str | None, typer.Option(help="the person's phone")] = None,
              email: Annotated[str | None, typer.Option(help="the person's e-mail")] = None,
              person_key: Annotated[str | None, typer.Option(help="the pseudonymous key")] = None,
              reason: Annotated[str, typer.Option(help="legal basis / request reference")] = "",
              requested_by: Annotated[str, typer.Option(help="operator id (not a name)")] = "") -> None:
    """Erase one person's personal data from every order (删除请求); recorded in the audit log."""
    from suqiu.services.analytics.retention import erase_person
    from suqiu.services.intake.settings import IntakeSettings
    from suqiu.shared.privacy import normalize_phone

    if not reason or not requested_by:
        raise typer.BadParameter("--reason and --requested-by are required")
    if sum(x is not None for x in (phone, email, person_key)) != 1:
        raise typer.BadParameter("give exactly one of --phone, --email, --person-key")
    key = person_key
    if key is None:
        secret = IntakeSettings().person_key_secret
        basis = f"phone:{normalize_phone(phone)}" if phone else f"email:{(email or '').lower()}"
        key = _hash(secret, basis)

    async def go() -> dict:
        store, repo, *_ = _parts()
        try:
            return await erase_person(repo, key, requested_by=requested_by, reason=reason)
        finally:
            await store.close()

    entry = asyncio.run(go())
    typer.echo(f"audit {entry['_id']}: erased {len(entry['tickets'])} orders")


def _hash(secret: str, basis: str) -> str:
    """The intake's pseudonymous person key (services/intake/domain/submission.py)."""
    import hashlib

    return hashlib.sha256(f"{secret}|{basis}".encode()).hexdigest()[:32]


def bench_report(orders: Annotated[int, typer.Option(help="orders in the month")] = 200_000,
                 month: Annotated[str, typer.Option(help="YYYY-MM")] = "2026-11",
                 out: Annotated[Path, typer.Option(help="where the report goes")] = Path(
                     ".run/bench-report/out")) -> None:
    """Load synthetic orders (the month, the month before, last year's), aggregate them, and
    time `report` on them (docs/reports.md: Benchmark)."""
    from suqiu.bench_report import run_bench_report

    if orders < 1:
        raise typer.BadParameter("--orders must be >= 1")
    raise typer.Exit(run_bench_report(Path(".run/bench-report/store"), month, orders, out))


def register(app: typer.Typer) -> None:
    """Add the analytics commands to the `suqiu` CLI."""
    app.command("report")(report)
    app.command("bench-report")(bench_report)
    analytics_app.command("rebuild")(rebuild_cmd)
    privacy_app.command("erase")(erase_cmd)
    app.add_typer(analytics_app, name="analytics")
    app.add_typer(privacy_app, name="privacy")

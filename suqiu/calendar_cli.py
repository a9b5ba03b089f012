"""`suqiu calendar check`: which years the business calendar knows, and a month's working days.

Reads the same overrides file as the services (SUQIU_SLA_CALENDAR_OVERRIDES_PATH, else
calendar-overrides.yaml next to the catalogue, else deploy/config/). Exit code 2 with one line
on stderr when the file is invalid or the month's year is not covered (as start-up would).
"""

from __future__ import annotations

import calendar as month_grid
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from suqiu.shared.calendar import BusinessCalendar, package_years
from suqiu.shared.errors import ConfigError

__all__ = ["calendar_app", "register"]

calendar_app = typer.Typer(no_args_is_help=True, help="The business calendar (holidays, 调休).")
_WEEKDAYS = "一二三四五六日"


def _ranges(years: list[int]) -> str:
    out: list[str] = []
    for y in years:
        if out and int(out[-1].split("-")[-1]) == y - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{y}"
        else:
            out.append(str(y))
    return ", ".join(out) or "none"


def month_report(cal: BusinessCalendar, year: int, month: int) -> list[str]:
    """The lines `check` prints for one month (pure, for tests)."""
    days = [date(year, month, d) for d in range(1, month_grid.monthrange(year, month)[1] + 1)]
    working = [d for d in days if cal.is_working_day(d)]
    lines = [f"{year}-{month:02d}: {len(working)} working days "
             f"({cal.working_hours_per_day():g} working hours each)"]
    for d in days:
        weekend = d.weekday() >= 5
        w = cal.is_working_day(d)
        note = ""
        if w and weekend:
            note = "  调休 (weekend working day)"
        elif not w and not weekend:
            note = "  holiday"
        lines.append(f"  {d.isoformat()} 周{_WEEKDAYS[d.weekday()]} "
                     f"{'work' if w else 'off '}{note}")
    return lines


@calendar_app.command("check")
def check(month: Annotated[str | None, typer.Option(
        help="YYYY-MM: list that month's days (default: this month)")] = None) -> None:
    """Print the covered years, the last known day, and the working days of a month."""
    from suqiu.shared.settings import CommonSettings
    from suqiu.shared.sla import SlaFiles

    files = SlaFiles()
    try:
        cal = files.calendar(CommonSettings().catalogue_path)
        today = datetime.now(ZoneInfo(cal.tz)).date()
        if month:
            try:
                y, m = (int(x) for x in month.split("-"))
                date(y, m, 1)
            except ValueError as exc:
                raise ConfigError("--month", f"expected YYYY-MM, got {month!r}") from exc
        else:
            y, m = today.year, today.month
        typer.echo(f"package (chinese-calendar) years: {_ranges(sorted(package_years()))}")
        typer.echo(f"operator overrides cover:         {_ranges(sorted(cal.covers))}")
        last = cal.last_known_day(today)
        typer.echo(f"last known day from today:        {last.isoformat() if last else 'NONE'}")
        cal.require_year(date(y, m, 1), "--month")
        for line in month_report(cal, y, m):
            typer.echo(line)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")

"""Where the SLA policy and the calendar overrides are (env prefix SUQIU_SLA_), and loading them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.calendar import BusinessCalendar, load_calendar
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.resources import default_config
from suqiu.shared.sla.deadlines import DeadlineBook
from suqiu.shared.sla.policy import load_policies

__all__ = ["SlaFiles", "default_book", "load_book"]


class SlaFiles(BaseSettings):
    """Read by every service that stamps or enforces deadlines (intake, dispatcher, monitor)."""

    model_config = SettingsConfigDict(env_prefix="SUQIU_SLA_", extra="ignore", frozen=True)

    policy_path: Path | None = Field(
        default=None, description="SLA policies (YAML); default: sla.yaml next to the "
        "catalogue (SUQIU_CATALOGUE_PATH), else deploy/config/sla.yaml.")
    calendar_overrides_path: Path | None = Field(
        default=None, description="Business-calendar overrides: holidays, 调休 workdays and "
        "`covers` years (YAML); default: calendar-overrides.yaml next to the catalogue, "
        "else deploy/config/.")
    timezone: str = Field(default="Asia/Shanghai")

    def resolve(self, name: str, explicit: Path | None, catalogue_path: Path | None) -> Path:
        """The explicit path, else `name` next to the catalogue, else the shipped default."""
        if explicit is not None:
            return explicit
        if catalogue_path is not None:
            beside = Path(catalogue_path).parent / name
            if beside.exists():
                return beside
        return default_config(name)

    def calendar(self, catalogue_path: Path | None) -> BusinessCalendar:
        return load_calendar(self.resolve("calendar-overrides.yaml",
                                          self.calendar_overrides_path, catalogue_path),
                             tz=self.timezone)


def load_book(catalogue: Catalogue, catalogue_path: Path | None,
              files: SlaFiles | None = None, today: date | None = None) -> DeadlineBook:
    """Policy + calendar + catalogue facts; ConfigError if any is wrong or today's year is unknown."""
    files = files or SlaFiles()
    policy = files.resolve("sla.yaml", files.policy_path, catalogue_path)
    cal = files.calendar(catalogue_path)
    if today is not None:
        cal.require_year(today, str(files.resolve("calendar-overrides.yaml",
                                                  files.calendar_overrides_path,
                                                  catalogue_path)))
    codes: dict[str, str] = {}
    for c in catalogue.categories:
        codes[c.name] = c.code
        codes[c.code] = c.code
        for s in c.subcategories:
            codes.setdefault(s.name, s.code)
    return DeadlineBook(policies=load_policies(policy), calendar=cal,
                        profile=catalogue.profile, category_codes=codes)


_DEFAULT: dict[int, tuple[Catalogue, DeadlineBook]] = {}


def default_book(catalogue: Catalogue) -> DeadlineBook:
    """The book from the default files for `catalogue` (tests and tools that build no book)."""
    hit = _DEFAULT.get(id(catalogue))
    if hit is None or hit[0] is not catalogue:
        hit = _DEFAULT[id(catalogue)] = (catalogue, load_book(catalogue, None))
    return hit[1]

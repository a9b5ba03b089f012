"""The operator's catalogue: departments, two-level categories, regions, severity words.

Time limits are not here: they live in the one SLA policy file (sla.yaml, shared/sla).

Loaded from YAML (SUQIU_CATALOGUE_PATH, default deploy/config/catalogue.yaml) and
validated at start-up, so a typo stops the service with a clear message instead of
misrouting complaints.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suqiu.shared.resources import default_config

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Category",
    "ClassifierPolicy",
    "Department",
    "District",
    "SeverityWords",
    "Subcategory",
    "load_catalogue",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


class CatalogueError(Exception):
    """The catalogue file is missing or invalid."""


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Cfg):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    parent: str | None = Field(default=None, description="Escalation parent (department id).")


class Subcategory(_Cfg):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    keywords: list[str] = Field(min_length=1)
    department: str | None = None


class Category(_Cfg):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    department: str
    subcategories: list[Subcategory] = Field(min_length=1)


class District(_Cfg):
    name: str
    aliases: list[str] = Field(default_factory=list)
    streets: list[str] = Field(default_factory=list)
    communities: dict[str, list[str]] = Field(
        default_factory=dict, description="Communities / villages (社区 / 村) by street.")


class ClassifierPolicy(_Cfg):
    """How the classifier decides; every number is the operator's to change."""

    triage_threshold: float = Field(
        default=0.35, ge=0, le=1,
        description="Below this category confidence the order goes to manual triage.")
    keyword_precedence: float = Field(
        default=0.7, ge=0, le=1,
        description="Keyword-rule confidence from which the rules override the model.")
    duplicate_similarity: float = Field(
        default=0.5, gt=0, le=1, description="Estimated Jaccard similarity of near-duplicates.")
    duplicate_window_hours: float = Field(default=72, gt=0)
    mass_incident_households: int = Field(
        default=5, ge=2, description="Distinct complainants in one cluster that make it mass.")


class SeverityWords(_Cfg):
    safety: list[str] = Field(min_length=1, description="Safety hazards: urgent.")
    media_or_lawsuit: list[str] = Field(min_length=1)
    repeated: list[str] = Field(min_length=1)
    many_affected: list[str] = Field(min_length=1, description="Phrases meaning many households.")
    affected_threshold: int = 5
    money_threshold_cny: int = 20000
    # Added for the classifier's severity rules (defaults, so older catalogues still load).
    trapped: list[str] = Field(
        default_factory=lambda: ["电梯困人", "困在电梯", "被困电梯", "关在电梯", "卡在电梯",
                                 "电梯里被困", "困在里面", "電梯困人"],
        description="People trapped: urgent.")
    injury: list[str] = Field(
        default_factory=lambda: ["受伤", "摔伤", "烫伤", "砸伤", "撞伤", "咬伤", "割伤", "骨折",
                                 "流血", "送医", "住院", "缝针", "受傷"],
        description="Someone was hurt: major.")
    utilities_cut: list[str] = Field(
        default_factory=lambda: ["停水", "停电", "停气", "断水", "断电", "断气", "没水", "没电",
                                 "没有水", "没有电", "没暖气", "停暖", "不供暖", "没有热水"],
        description="Water, power, gas or heating cut off: at least important.")
    vip_levels: list[str] = Field(
        default_factory=lambda: ["vip", "svip", "贵宾", "金卡", "白金", "钻石", "重要客户",
                                 "大客户"],
        description="Customer levels (channel_details.customer_level / level) that are VIP: "
                    "at least important.")


class Catalogue(_Cfg):
    profile: str
    province: str
    city: str
    triage_department: str
    departments: list[Department] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    districts: list[District] = Field(min_length=1)
    severity_words: SeverityWords
    classifier: ClassifierPolicy = Field(default_factory=ClassifierPolicy)

    @model_validator(mode="before")
    @classmethod
    def _no_second_sla_table(cls, data: object) -> object:
        if isinstance(data, dict) and "sla" in data:
            raise ValueError("sla: time limits moved to the SLA policy file (sla.yaml, "
                             "docs/sla.md); remove the catalogue's `sla` table")
        return data

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalogue:
        ids = {d.id for d in self.departments}
        problems = []
        if self.triage_department not in ids:
            problems.append(f"triage_department {self.triage_department!r} is not a department")
        for d in self.departments:
            if d.parent and d.parent not in ids:
                problems.append(f"department {d.id}: parent {d.parent!r} unknown")
        for c in self.categories:
            if c.department not in ids:
                problems.append(f"category {c.code}: department {c.department!r} unknown")
            for s in c.subcategories:
                if s.department and s.department not in ids:
                    problems.append(f"subcategory {s.code}: department {s.department!r} unknown")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def department(self, dept_id: str) -> Department:
        for d in self.departments:
            if d.id == dept_id:
                return d
        raise KeyError(dept_id)


@lru_cache(maxsize=8)
def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue; CatalogueError says which entry is wrong."""
    path = path or default_config("catalogue.yaml")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc}") from exc
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"invalid catalogue {path}: {exc}") from exc

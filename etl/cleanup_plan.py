"""A cleanup plan's contract: the file `swr-etl cleanup plan` writes and `cleanup apply` reads
(frozen models, strict: a hand-edited file of the wrong shape is one line naming the field),
the stamp of the config it was computed for, and what applying it did to each planned tag.

The file is JSON; nothing in it is secret (endpoints are named with their URLs, never their
credentials):

    {"format": "swr-etl cleanup plan", "version": 1, "id": "…", "computed_at": "…",
     "run": {"run_id", "seq", "started_at"},          the warehouse run it was computed from
     "rule": {"older_than", "older_than_days", "keep_last", "protect"},
     "config": {"fingerprint", "endpoints": [{"name", "url"}]},
     "frees": N,                                        bytes, each image once
     "tags": [{"endpoint", "namespace", "repository", "tag", "digest", "updated", "size",
               "freed_size"}]}
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from etl.errors import NameError_, UsageError
from etl.status import CleanupResult
from etl.swr.names import validate_namespace, validate_repository, validate_tag
from etl.textfiles import read_bytes

FORMAT: Literal["swr-etl cleanup plan"] = "swr-etl cleanup plan"
# A plan of 100,000 tags is ~35 MiB; more is not a plan (a disk, /dev/zero, a log).
PLAN_LIMIT = 64 * 1024 * 1024
INT64_MAX = 2**63 - 1  # sizes and counts go into BIGINT columns and Arrow int64


def printable(value: str) -> str:
    """Return `value` if it holds no control character (it is printed and recorded)."""
    if not value.isprintable():
        raise ValueError("holds a control character")
    return value


def in_utc(value: datetime) -> datetime:
    """Return an aware time in UTC; refuse one that has no UTC form (year 1 at +14:00)."""
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


# Every figure of a plan is bounded as the warehouse and the lake store it; every time has a
# UTC form; every text is printable and of a sane length.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Moment = Annotated[AwareDatetime, AfterValidator(in_utc)]
Text = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(printable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PlanRun(Strict):
    """The warehouse run a plan was computed from."""

    run_id: Text
    seq: Count
    started_at: Moment


class PlanRule(Strict):
    """What a plan deletes: tags not pushed for `older_than` (as given, and in days), but the
    newest `keep_last` of each repository and those matching a `protect` glob."""

    older_than: Annotated[Text, Field(max_length=32)]
    older_than_days: float = Field(gt=0, le=10**7, allow_inf_nan=False)
    keep_last: int | None = Field(default=None, ge=1, le=INT64_MAX)
    protect: tuple[Annotated[Text, Field(max_length=128)], ...] = Field(default=(), max_length=100)

    def keeps(self, tag: PlannedTag, computed_at: datetime) -> str | None:
        """Return why this rule keeps `tag`, as far as the plan alone tells (its name matches
        a protect glob, or it was pushed less than `older_than` before the plan was computed);
        None if the rule deletes it. What a hand-edited plan adds against its rule stays."""
        glob = next((g for g in self.protect if fnmatchcase(tag.tag, g)), None)
        if glob is not None:
            return f"its name matches the plan's protect glob {glob!r}"
        age_days = (computed_at - tag.updated).total_seconds() / 86400
        if age_days < self.older_than_days:
            return (
                f"it was pushed {age_days:.1f} days before the plan, less than its rule's "
                f"{self.older_than}"
            )
        return None


class PlanEndpoint(Strict):
    name: Text
    url: Annotated[Text, Field(max_length=2048)]


class ConfigStamp(Strict):
    """The config a plan is for: its endpoints' names and URLs, and their fingerprint."""

    fingerprint: Text
    endpoints: tuple[PlanEndpoint, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def consistent(self) -> ConfigStamp:
        pairs = [(e.name, e.url) for e in self.endpoints]
        if len({name for name, _ in pairs}) != len(pairs):
            raise ValueError("an endpoint is named twice")
        if fingerprint_of(pairs) != self.fingerprint:
            raise ValueError("the fingerprint is not that of the endpoints listed")
        return self


class PlannedTag(Strict):
    """One tag to delete, as the warehouse saw it when the plan was computed."""

    endpoint: Text
    namespace: str
    repository: str
    tag: str
    digest: Text
    updated: Moment
    size: Count
    freed_size: Count  # as the plan counted it: shown to a reviewer, never read back

    @model_validator(mode="after")
    def valid_names(self) -> PlannedTag:
        try:
            validate_namespace(self.namespace)
            validate_repository(self.repository)
            validate_tag(self.tag)
        except NameError_ as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.endpoint, self.namespace, self.repository, self.tag)

    def __str__(self) -> str:
        return f"{self.endpoint}:{self.namespace}/{self.repository}:{self.tag}"


class CleanupPlan(Strict):
    """A reviewable list of tags to delete, with where it came from and what it frees."""

    format: Literal["swr-etl cleanup plan"]
    version: Literal[1]
    id: Annotated[Text, Field(max_length=64)]
    computed_at: Moment
    run: PlanRun
    rule: PlanRule
    config: ConfigStamp
    # As the plan counted it (a sum of int64 sizes, HUGEINT in SQL): shown, never read back.
    frees: int = Field(ge=0, le=2**127 - 1)
    tags: tuple[PlannedTag, ...]

    @model_validator(mode="after")
    def consistent(self) -> CleanupPlan:
        names = {e.name for e in self.config.endpoints}
        for index, tag in enumerate(self.tags):
            if tag.endpoint not in names:
                raise ValueError(f"tags[{index}]: endpoint {tag.endpoint!r} is not the plan's")
        if len({t.key for t in self.tags}) != len(self.tags):
            raise ValueError("a tag is listed twice")
        return self

    def to_json(self) -> str:
        """Return the plan file's text."""
        return self.model_dump_json(indent=2) + "\n"


def config_stamp(endpoints: Sequence[tuple[str, str]]) -> ConfigStamp:
    """Return the stamp of a config with these (name, URL) endpoints: a plan applies only to
    a config with the same stamp (the same endpoints, whatever their credentials)."""
    ordered = sorted(endpoints)
    return ConfigStamp(
        fingerprint=fingerprint_of(ordered),
        endpoints=tuple(PlanEndpoint(name=name, url=url) for name, url in ordered),
    )


def fingerprint_of(endpoints: Sequence[tuple[str, str]]) -> str:
    """Return the fingerprint of (name, URL) endpoints, whatever their order."""
    text = "\n".join(f"{name} {url.rstrip('/')}" for name, url in sorted(endpoints))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_plan(path: Path) -> CleanupPlan:
    """Return the plan in `path`, a regular file of at most PLAN_LIMIT bytes; raise UsageError
    naming the file (and the field) when it cannot be read or is not a plan of this version."""
    try:
        text = read_bytes(path, PLAN_LIMIT)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: cannot read the plan: it {exc}") from None
    try:
        return CleanupPlan.model_validate_json(text)
    except ValidationError as exc:
        raise UsageError(f"{path}: not a cleanup plan of this version: {problem(exc)}") from None


def problem(exc: ValidationError) -> str:
    """Return pydantic's first complaint as `field: message` (never the value)."""
    error = exc.errors()[0]
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


@dataclass(frozen=True)
class Attempt:
    """What `cleanup apply` did with one planned tag: the result, why (for anything but a
    delete), what SWR said, and when."""

    tag: PlannedTag
    result: CleanupResult
    at: datetime
    detail: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    request_id: str | None = None
    freed_size: int = 0  # the image's size on the attempt whose DELETE removed it; else 0

    @property
    def done(self) -> bool:
        """True when the tag is gone: deleted now, or found gone."""
        return self.result.done


# `cleanup apply`'s exit code when something planned was skipped or could not be deleted.
EXIT_NOT_ALL_DELETED = 5


@dataclass(frozen=True)
class Applied:
    """What applying a plan came to: its id, every attempt, and where they are recorded."""

    apply_id: str
    attempts: list[Attempt]
    recorded: str  # the lake file
    loaded: bool  # also in the warehouse (else the next sync or `load` loads it)

    @property
    def exit_code(self) -> int:
        """0 when every planned tag is gone (deleted, or found gone); else 5."""
        return 0 if all(a.done for a in self.attempts) else EXIT_NOT_ALL_DELETED

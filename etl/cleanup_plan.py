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
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from etl.errors import NameError_, UsageError
from etl.status import CleanupResult
from etl.swr.names import validate_namespace, validate_repository

FORMAT: Literal["swr-etl cleanup plan"] = "swr-etl cleanup plan"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PlanRun(Strict):
    """The warehouse run a plan was computed from."""

    run_id: str
    seq: int
    started_at: AwareDatetime


class PlanRule(Strict):
    """What a plan deletes: tags not pushed for `older_than` (as given, and in days), but the
    newest `keep_last` of each repository and those matching a `protect` glob."""

    older_than: str
    older_than_days: float = Field(ge=0)
    keep_last: int | None = Field(default=None, ge=1)
    protect: tuple[str, ...] = ()


class PlanEndpoint(Strict):
    name: str
    url: str


class ConfigStamp(Strict):
    """The config a plan is for: its endpoints' names and URLs, and their fingerprint."""

    fingerprint: str
    endpoints: tuple[PlanEndpoint, ...]


class PlannedTag(Strict):
    """One tag to delete, as the warehouse saw it when the plan was computed."""

    endpoint: str = Field(min_length=1)
    namespace: str
    repository: str
    tag: str = Field(min_length=1, max_length=128)
    digest: str = Field(min_length=1)
    updated: AwareDatetime
    size: int
    freed_size: int = Field(ge=0)

    @model_validator(mode="after")
    def valid_names(self) -> PlannedTag:
        try:
            validate_namespace(self.namespace)
            validate_repository(self.repository)
        except NameError_ as exc:
            raise ValueError(str(exc)) from None
        if any(not c.isprintable() for c in self.tag):
            raise ValueError("the tag holds a control character")
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
    id: str = Field(min_length=1)
    computed_at: AwareDatetime
    run: PlanRun
    rule: PlanRule
    config: ConfigStamp
    frees: int = Field(ge=0)
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
    text = "\n".join(f"{name} {url.rstrip('/')}" for name, url in ordered)
    return ConfigStamp(
        fingerprint=hashlib.sha256(text.encode()).hexdigest()[:16],
        endpoints=tuple(PlanEndpoint(name=name, url=url) for name, url in ordered),
    )


def read_plan(path: Path) -> CleanupPlan:
    """Return the plan in `path`; raise UsageError naming the file (and the field) when it
    cannot be read or is not a plan of this version."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
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

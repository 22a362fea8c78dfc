"""The config's contract: frozen models with the rules each key obeys, and the targets they
name. Reading a file into them (YAML, `${ENV}`, secret files, error wording) is
`etl.config_file`'s job.

Secrets are `SecretStr`: they never show in a repr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from yarl import URL

from etl.errors import NameError_
from etl.results import Target
from etl.swr.bounds import MAX_PAGE_BYTES, MAX_PAGES
from etl.swr.names import validate_namespace, validate_repository


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def header_safe(value: SecretStr | None) -> SecretStr | None:
    """Return a secret that can travel in an HTTP header; raise (without showing it) if not."""
    if value is not None and unsafe_in_header(value.get_secret_value()):
        raise ValueError(HEADER_UNSAFE)
    return value


def unsafe_in_header(text: str) -> bool:
    """Return True if `text` holds a line break, a space or another control character."""
    return any(c.isspace() or not c.isprintable() for c in text)


HEADER_UNSAFE = "contains a line break, space or control character (value not shown)"


def checked_url(value: str) -> str:
    """Return an http(s) URL of a host (and port) only; raise without echoing it, since it
    may have been built from an environment variable that holds a secret."""
    try:
        url = URL(value)
        port = url.port
    except (ValueError, TypeError):
        raise ValueError("not a valid URL (value not shown)") from None
    if url.scheme not in ("http", "https") or not url.host or port is None:
        raise ValueError("must be http(s)://HOST[:PORT] (value not shown)")
    if url.user or url.password or url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError("must be http(s)://HOST[:PORT], with no path, query or user")
    return value


class TokenAuthConfig(Model):
    type: Literal["token"]
    token: SecretStr | None = None
    token_file: Path | None = None

    _header_safe = field_validator("token")(header_safe)

    @model_validator(mode="after")
    def one_source(self) -> TokenAuthConfig:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        return self


class PasswordAuthConfig(Model):
    type: Literal["password"]
    iam_url: str
    domain: str
    user: str
    password: SecretStr
    project: str | None = None
    project_id: str | None = None

    _checked_url = field_validator("iam_url")(checked_url)

    @model_validator(mode="after")
    def one_project(self) -> PasswordAuthConfig:
        if (self.project is None) == (self.project_id is None):
            raise ValueError("give exactly one of project (name) or project_id")
        return self


class AkSkAuthConfig(Model):
    type: Literal["aksk"]
    ak: SecretStr
    sk: SecretStr
    project_id: str | None = None

    _header_safe = field_validator("ak", "sk")(header_safe)

    @field_validator("project_id")
    @classmethod
    def project_id_header_safe(cls, value: str | None) -> str | None:
        if value is not None and unsafe_in_header(value):
            raise ValueError(HEADER_UNSAFE)
        return value


AuthConfig = Annotated[
    TokenAuthConfig | PasswordAuthConfig | AkSkAuthConfig, Field(discriminator="type")
]


def is_glob(name: str) -> bool:
    """Return True if a configured name is a pattern (fnmatch: `*`, `?` or `[`)."""
    return any(c in name for c in "*?[")


class TargetConfig(Model):
    namespace: str
    repositories: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)  # globs on "namespace/repository"
    tag: str | None = None
    discover_metadata: bool = False  # list the organization for literal names too

    @field_validator("namespace")
    @classmethod
    def valid_namespace(cls, value: str) -> str:
        return _pattern(value) if is_glob(value) else _by_name_rules(validate_namespace, value)

    @field_validator("repositories")
    @classmethod
    def valid_repositories(cls, values: list[str]) -> list[str]:
        for value in values:
            if is_glob(value):
                _pattern(value)
            else:
                _by_name_rules(validate_repository, value)
        if len(set(values)) != len(values):
            raise ValueError("a repository is listed twice")
        return values

    @field_validator("exclude")
    @classmethod
    def valid_excludes(cls, values: list[str]) -> list[str]:
        for value in values:
            _pattern(value)
        return values

    @property
    def discovers(self) -> bool:
        """True if this target needs a repository list (a pattern, or metadata asked for)."""
        return (
            self.discover_metadata
            or is_glob(self.namespace)
            or any(map(is_glob, self.repositories))
        )


def _pattern(value: str) -> str:
    if not value.strip() or value != value.strip():
        raise ValueError(f"pattern {value!r} is empty or has surrounding spaces")
    return value


class EndpointConfig(Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    url: str
    auth: AuthConfig
    verify_tls: bool = True
    ca_bundle: Path | None = None
    targets: list[TargetConfig] = Field(min_length=1)
    # v3 where the endpoint has it, else v2 (asked once a run); or one of them, fixed.
    api: Literal["auto", "v3", "v2"] = "auto"

    _checked_url = field_validator("url")(checked_url)


class CrawlConfig(Model):
    concurrency: int = Field(default=16, ge=1, le=1024)
    requests_per_second: float = Field(default=50.0, gt=0)
    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=50)
    with_manifest: bool = False
    # Bounds that keep a hostile or broken server from running a sync forever or out of memory.
    max_pages_per_target: int = Field(default=MAX_PAGES, ge=1)
    max_page_bytes: int = Field(default=MAX_PAGE_BYTES, ge=65_536)
    deadline_s: float = Field(default=10_800.0, gt=0)
    # An endpoint whose run would close more than this share of its current tags is refused.
    max_removed_share: float = Field(default=0.5, ge=0, le=1)


@dataclass(frozen=True)
class S3Location:
    """An `s3://bucket/prefix` lake: the bucket and the key prefix (no slashes around it)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def __str__(self) -> str:
        return self.url


def parse_s3_url(url: str) -> S3Location:
    """Return the bucket and prefix of `s3://bucket[/prefix]`; raise ValueError if malformed."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket or any(c in bucket for c in " \\?#"):
        raise ValueError(f"{url!r} is not an s3:// URL of the form s3://bucket/prefix")
    body = prefix.removesuffix("/")
    # The S3 layer normalises `.`, `..` and empty segments when it writes, not when it lists:
    # a run would land somewhere its readers never look.
    rewritten = (
        [segment for segment in body.split("/") if segment in ("", ".", "..")] if body else []
    )
    if rewritten or "\\" in body:
        raise ValueError(
            f"{url!r}: the prefix may not hold '.', '..', empty segments or backslashes (the "
            "S3 layer would write elsewhere than it lists)"
        )
    return S3Location(bucket, body)


class S3Config(Model):
    """How to reach an s3:// lake: OBS, MinIO or (endpoint omitted) AWS itself."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key: SecretStr | None = None  # both or neither: the standard AWS credential chain
    secret_key: SecretStr | None = None
    addressing: Literal["virtual", "path"] = "virtual"  # MinIO and moto want path

    _url = field_validator("endpoint_url")(lambda v: None if v is None else checked_url(v))
    _keys = field_validator("access_key", "secret_key")(header_safe)

    @model_validator(mode="after")
    def both_keys_or_neither(self) -> S3Config:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        return self


class OutputConfig(Model):
    lake: Path | S3Location
    duckdb: Path
    s3: S3Config | None = None  # only for an s3:// lake
    # A partition without a commit record younger than this may be another writer's run in
    # progress (object storage has no lock): only older ones are removed.
    orphan_grace: float = Field(default=6 * 3600.0, ge=0)
    # How often a repository's tags are stored whole in the lake; the runs between store what
    # changed. Counted in UTC from the epoch: `1d`, the first run of each UTC day; 0, every run.
    full_listing_every: float = Field(default=86400.0, ge=0)
    writer: str | None = None  # names this config's runs in a shared lake (default: file name)
    readonly_copy: Path | None = None  # refreshed after each run, for dashboards to open
    dashboard: Path | None = None  # an HTML page rewritten after each successful or partial run
    metrics: Path | None = None  # a Prometheus text file rewritten after every run
    # A Prometheus Pushgateway (http(s)://HOST[:PORT]) each metrics file is also sent to.
    pushgateway: str | None = None
    # One deadline for a whole push (name lookup, connect, send, the answer), far below an
    # hourly schedule; the push comes after the run's lock is released.
    pushgateway_timeout_s: float = Field(default=10.0, gt=0, le=300)

    _gateway = field_validator("pushgateway")(lambda v: None if v is None else checked_url(v))

    @field_validator("lake", mode="before")
    @classmethod
    def object_storage_url(cls, value: Any) -> Any:
        if isinstance(value, str) and "://" in value:
            if not value.startswith("s3://"):
                raise ValueError("must be a local folder or an s3://bucket/prefix URL")
            return parse_s3_url(value)
        return value

    @field_validator("orphan_grace", "full_listing_every", mode="before")
    @classmethod
    def duration(cls, value: Any) -> Any:
        return seconds_of(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def options_that_need_another(self) -> OutputConfig:
        if self.s3 is not None and not isinstance(self.lake, S3Location):
            raise ValueError("s3 is only for an s3:// lake")
        if self.pushgateway is not None and self.metrics is None:
            # The file carries the last success from run to run; the gateway gets a copy.
            raise ValueError("pushgateway needs metrics: the file it sends")
        return self


DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds_of(text: str) -> float:
    """Return the seconds of a duration such as `90`, `30m`, `6h` or `2d`."""
    match = DURATION_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 30m, 6h or 2d")
    return float(match.group(1)) * UNIT_S[match.group(2)]


class Config(Model):
    endpoints: list[EndpointConfig] = Field(default_factory=list)  # none: a config to `load`
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    output: OutputConfig
    source: Path = Path("<memory>")

    @model_validator(mode="after")
    def unique_endpoints_and_targets(self) -> Config:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names must be unique: {names}")
        seen: set[tuple[str, str, str]] = set()
        for target in self.targets():
            key = (target.endpoint, target.namespace, target.repository)
            if key in seen:
                raise ValueError(f"target {target} is configured twice")
            seen.add(key)
        return self

    def targets(self) -> list[Target]:
        """Return the targets named literally (namespace and repository), in config order:
        what a sync crawls without asking SWR's lists (see etl.run.discovery for the rest)."""
        return [
            Target(endpoint.name, target.namespace, repository, target.tag)
            for endpoint in self.endpoints
            for target in endpoint.targets
            if not is_glob(target.namespace)
            for repository in target.repositories
            if not is_glob(repository)
        ]

    @property
    def writer(self) -> str:
        """The name this config's runs carry in the lake: output.writer, or the file's name."""
        return self.output.writer or self.source.stem


def _by_name_rules(check: Any, value: str) -> str:
    try:
        return str(check(value))
    except NameError_ as exc:
        raise ValueError(str(exc)) from None

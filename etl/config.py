"""The config's contract: frozen models with the rules each key obeys, and the targets they
name. Reading a file into them (YAML, `${ENV}`, secret files, error wording) is
`etl.config_file`'s job.

Each model's docstring and each key's (the string under it) are the configuration reference:
`python -m tests.docs_reference` writes docs/reference/configuration.md from them.

Secrets are `SecretStr`: they never show in a repr.
"""

from __future__ import annotations

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

from etl.config_values import (
    BYTES,
    DURATION,
    HEADER_UNSAFE,
    SECONDS,
    S3Location,
    checked_url,
    header_safe,
    parse_s3_url,
    seconds_if_text,
    unsafe_in_header,
)
from etl.errors import NameError_
from etl.results import Key, Target
from etl.swr.bounds import MAX_PAGE_BYTES, MAX_PAGES
from etl.swr.names import validate_namespace, validate_repository

# The longest duration a key takes: a century (beyond, a typo; and `timedelta` ends soon after).
CENTURY_S = 36_500 * 86_400.0


class Model(BaseModel):
    # A float key is a finite number within its bounds: `.inf` or `.nan` in YAML is refused
    # where it is read, not met as an OverflowError deep in a run.
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )


class TokenAuthConfig(Model):
    """`type: token`: a static `X-Auth-Token`. An IAM token lives 24 hours: fine for a one-off
    run, wrong for a schedule (the job fails the next day)."""

    type: Literal["token"]
    """`token`: a static token."""
    token: SecretStr | None = None
    """The token (`"${SWR_TOKEN}"`); give `token` or `token_file`."""
    token_file: Path | None = None
    """A file holding the token, read at every run: something else may rotate it in place."""

    _header_safe = field_validator("token")(header_safe)

    @model_validator(mode="after")
    def one_source(self) -> TokenAuthConfig:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        return self


class PasswordAuthConfig(Model):
    """`type: password`: an IAM user token, fetched once, refreshed five minutes before it
    expires (24 h) and once after a 401; concurrent requests share one refresh. Suits an
    unattended job whose account has a password."""

    type: Literal["password"]
    """`password`: an IAM user's token."""
    iam_url: str
    """IAM, `http(s)://HOST[:PORT]`: `https://iam.cn-north-4.myhuaweicloud.com`."""
    domain: str
    """The account (domain) the user belongs to."""
    user: str
    """The IAM user."""
    password: SecretStr
    """Its password (`"${IAM_PASSWORD}"`)."""
    project: str | None = None
    """The project the token is for, by name (`cn-north-4`); or `project_id`."""
    project_id: str | None = None
    """The project the token is for, by id; or `project`."""

    _checked_url = field_validator("iam_url")(checked_url)

    @model_validator(mode="after")
    def one_project(self) -> PasswordAuthConfig:
        if (self.project is None) == (self.project_id is None):
            raise ValueError("give exactly one of project (name) or project_id")
        return self


class AkSkAuthConfig(Model):
    """`type: aksk`: SDK-HMAC-SHA256 request signing, as the official SDK does it; every retry
    is signed afresh. An access key lives until it is rotated or deleted: the usual choice for
    an unattended job (a dedicated IAM user with SWR read access)."""

    type: Literal["aksk"]
    """`aksk`: signing with an access key."""
    ak: SecretStr
    """The access key (`"${HW_AK}"`)."""
    sk: SecretStr
    """The secret key (`"${HW_SK}"`)."""
    project_id: str | None = None
    """Sent as `X-Project-Id` with every request."""

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
    """What to crawl on an endpoint: an organization and repositories, by name or pattern."""

    namespace: str
    """An SWR organization (checked by the API page's rules), or a pattern on organizations."""
    repositories: list[str] = Field(min_length=1)
    """Repository names, `/` allowed (sent as `$`), or patterns on repositories."""
    exclude: list[str] = Field(default_factory=list)
    """Patterns on `namespace/repository`, applied after discovery."""
    tag: str | None = None
    """A server-side fuzzy tag filter; changing it starts a new scope (a baseline)."""
    discover_metadata: bool = False
    """List the organization for literal names too (repository metadata and pulls; one
    request per organization)."""

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
    """An SWR endpoint (a region of Huawei Cloud or of a Huawei-based cloud), how to
    authenticate there, and what to crawl."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """The label stored with every row (letters, digits, `.`, `_`, `-`)."""
    url: str
    """The SWR API, `http(s)://HOST[:PORT]`: `https://swr-api.cn-north-4.myhuaweicloud.com`."""
    auth: AuthConfig
    """How to authenticate: one of the three `type`s."""
    verify_tls: bool = True
    """TLS certificate verification."""
    ca_bundle: Path | None = None
    """A CA bundle file (PEM) for private CAs. `sync` and `plan` load it before any request: a
    file that is not one (or a FIFO, a device, a directory) is a config error."""
    targets: list[TargetConfig] = Field(min_length=1)
    """What to crawl there."""
    api: Literal["auto", "v3", "v2"] = "auto"
    """Which tag and repository lists: `auto` asks once a run (v3 where the endpoint has it,
    else v2); `v3` or `v2` fixes the choice."""

    _checked_url = field_validator("url")(checked_url)

    def named_targets(self) -> list[Target]:
        """Return the targets named literally here (namespace and repository), in config
        order: what a sync crawls without asking SWR's lists (etl.run.discovery does the rest)."""
        return [
            Target(self.name, target.namespace, repository, target.tag)
            for target in self.targets
            if not is_glob(target.namespace)
            for repository in target.repositories
            if not is_glob(repository)
        ]


class CrawlConfig(Model):
    """How the crawl runs, over every endpoint. The `max_*` keys and `deadline_s` keep a
    hostile or broken server from running a sync forever or out of memory."""

    concurrency: int = Field(default=16, ge=1, le=1024)
    """Requests in flight (and connections held), all endpoints together."""
    requests_per_second: float = Field(default=50.0, gt=0, le=1_000_000)
    """Per endpoint; halves after a 429 and recovers slowly."""
    page_size: int = Field(default=1000, ge=1, le=1000)
    """Tags per request."""
    timeout_s: float = Field(default=30.0, gt=0, le=86_400, json_schema_extra=SECONDS)
    """Seconds per request (at most a day)."""
    max_attempts: int = Field(default=6, ge=1, le=50)
    """Per request, with exponential backoff and full jitter; `Retry-After` honoured."""
    with_manifest: bool = False
    """Also fetch manifests (stored once per digest): `layer_storage` needs them."""
    max_pages_per_target: int = Field(default=MAX_PAGES, ge=1)
    """A repository still sending markers after this many pages fails (`ETL.MAX_PAGES`)."""
    max_page_bytes: int = Field(default=MAX_PAGE_BYTES, ge=65_536, json_schema_extra=BYTES)
    """An answer larger than this, on the wire or decompressed, fails its repository
    (`ETL.MAX_PAGE_BYTES`)."""
    deadline_s: float = Field(default=10_800.0, gt=0, le=604_800, json_schema_extra=SECONDS)
    """Past this, repositories not yet done fail (`ETL.DEADLINE`) and the rest of the run
    commits; keep it below your cron interval (at most a week)."""
    max_removed_share: float = Field(default=0.5, ge=0, le=1)
    """A run that would remove more than this share of an endpoint's current tags commits
    that endpoint's repositories as `failed` (`ETL.MAX_REMOVED_SHARE`); `sync
    --accept-removals` accepts it once."""
    skip_unchanged: bool = False
    """Do not crawl a repository whose entry in its organization's repository list
    (`updated_at`, `num_images`, `size`) is what it was when it was last crawled whole, within
    `full_crawl_every`: its tags carry forward unchanged (`target_runs.carried`). Off by
    default: it assumes SWR moves one of those fields whenever a tag is pushed, moved or
    deleted, which its API pages do not promise; anything in doubt is crawled."""
    full_crawl_every: float = Field(default=86400.0, gt=0, le=CENTURY_S, json_schema_extra=DURATION)
    """With `skip_unchanged`: the first run that starts this long after a repository's last whole
    crawl finished crawls it whole again, whatever its list entry says (so whole crawls are at
    most this plus one run's interval apart: `23h` with an hourly schedule for a daily one)."""

    _duration = field_validator("full_crawl_every", mode="before")(seconds_if_text)


class S3Config(Model):
    """How to reach an s3:// lake: OBS, MinIO or (endpoint omitted) AWS itself."""

    endpoint_url: str | None = None
    """`https://obs.cn-north-4.myhuaweicloud.com`, a MinIO URL; none: AWS."""
    region: str | None = None
    """`cn-north-4`, say."""
    access_key: SecretStr | None = None
    """Both keys or neither; neither: the standard AWS credential chain (environment,
    profile, instance role)."""
    secret_key: SecretStr | None = None
    """With `access_key`."""
    addressing: Literal["virtual", "path"] = "virtual"
    """`virtual` (the bucket in the host name) or `path` (MinIO and moto want it)."""

    _url = field_validator("endpoint_url")(lambda v: None if v is None else checked_url(v))
    _keys = field_validator("access_key", "secret_key")(header_safe)

    @model_validator(mode="after")
    def both_keys_or_neither(self) -> S3Config:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        return self


class OutputConfig(Model):
    """Where runs go: the lake, the DuckDB file, and what each run refreshes."""

    lake: Path | S3Location
    """The Parquet lake: a folder, or `s3://bucket/prefix` on S3-compatible object storage
    (OBS, S3, MinIO; reached as `output.s3` says)."""
    duckdb: Path
    """The DuckDB file (always a local file)."""
    s3: S3Config | None = None
    """Only for an `s3://` lake."""
    orphan_grace: float = Field(default=6 * 3600.0, ge=0, le=CENTURY_S, json_schema_extra=DURATION)
    """An object-storage lake's partitions with no commit record are removed only once older
    than this: they may be another writer's run in progress (object storage has no lock)."""
    full_listing_every: float = Field(
        default=86400.0, ge=0, le=CENTURY_S, json_schema_extra=DURATION
    )
    """How often the lake stores a repository's tags whole; the runs between store only what
    changed. Counted in UTC from the epoch, by the writer's clock (not by run starts, which
    follow other writers' runs): `1d` is the first run of each UTC day that syncs it, `1h`
    each hour's first; `0` stores every run whole (a full copy per run)."""
    writer: str | None = None
    """The name this config's runs carry in a shared lake (`runs.writer`); none: the config
    file's name."""
    readonly_copy: Path | None = None
    """A copy of the DuckDB file, replaced atomically after each run, for dashboards."""
    dashboard: Path | None = None
    """An HTML dashboard page, rewritten atomically after each successful or partial run."""
    metrics: Path | None = None
    """A Prometheus text file (node_exporter textfile collector), rewritten atomically after
    every run."""
    pushgateway: str | None = None
    """`http(s)://HOST[:PORT]` of a Prometheus Pushgateway the metrics file is also sent to
    (HTTP PUT to `/metrics/job/swr-etl/writer/<output.writer>`, replacing that group); needs
    `output.metrics`, which carries the last success across runs. Sent after the run releases
    its lock, redirects not followed; a failed push is one warning, never another exit code."""
    pushgateway_timeout_s: float = Field(default=10.0, gt=0, le=300, json_schema_extra=SECONDS)
    """One deadline for a whole push: name lookup, connect, send and the whole answer (read up
    to 64 KiB). At most 300, far below an hourly schedule."""

    _gateway = field_validator("pushgateway")(lambda v: None if v is None else checked_url(v))

    @field_validator("lake", mode="before")
    @classmethod
    def object_storage_url(cls, value: Any) -> Any:
        if isinstance(value, str) and "://" in value:
            if not value.startswith("s3://"):
                raise ValueError("must be a local folder or an s3://bucket/prefix URL")
            return parse_s3_url(value)
        return value

    _durations = field_validator("orphan_grace", "full_listing_every", mode="before")(
        seconds_if_text
    )

    @model_validator(mode="after")
    def options_that_need_another(self) -> OutputConfig:
        if self.s3 is not None and not isinstance(self.lake, S3Location):
            raise ValueError("s3 is only for an s3:// lake")
        if self.pushgateway is not None and self.metrics is None:
            # The file carries the last success from run to run; the gateway gets a copy.
            raise ValueError("pushgateway needs metrics: the file it sends")
        return self


class Config(Model):
    """A config file: the endpoints to crawl, how, and where the runs go."""

    endpoints: list[EndpointConfig] = Field(default_factory=list)
    """The SWR endpoints to crawl; none: a config that can only `load`."""
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    """How the crawl runs."""
    output: OutputConfig
    """Where runs go."""
    source: Path = Field(default=Path("<memory>"), exclude=True)
    """The file the config was read from (set when it is read; not a key)."""

    @model_validator(mode="after")
    def unique_endpoints_and_targets(self) -> Config:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names must be unique: {names}")
        seen: set[Key] = set()
        for target in self.targets():
            key = target.key
            if key in seen:
                raise ValueError(f"target {target} is configured twice")
            seen.add(key)
        return self

    def targets(self) -> list[Target]:
        """Return the targets named literally (namespace and repository), in config order:
        what a sync crawls without asking SWR's lists (see etl.run.discovery for the rest)."""
        return [target for endpoint in self.endpoints for target in endpoint.named_targets()]

    @property
    def writer(self) -> str:
        """The name this config's runs carry in the lake: output.writer, or the file's name."""
        return self.output.writer or self.source.stem


def _by_name_rules(check: Any, value: str) -> str:
    try:
        return str(check(value))
    except NameError_ as exc:
        raise ValueError(str(exc)) from None

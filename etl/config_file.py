"""Reading a config file: YAML, `${ENV}` expansion, secrets from files, validation into the
models of `etl.config`, paths made absolute, and the checks of what a run will write.

Every error is a `ConfigError` naming the file and the key path (`endpoints[0].auth.token`),
raised before any request is sent.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from etl.bounded_yaml import load_bounded
from etl.config import Config, EndpointConfig, OutputConfig, TokenAuthConfig
from etl.config_values import HEADER_UNSAFE, unsafe_in_header
from etl.errors import ConfigError
from etl.redact import remember_secrets
from etl.textfiles import SECRET_LIMIT, TEXT_LIMIT, read_text

ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_config(
    path: str | Path,
    environ: dict[str, str] | None = None,
    secrets_needed: bool = True,
    lake_secrets_needed: bool = True,
) -> Config:
    """Return the validated config in `path`; raise ConfigError naming file and key.

    `secrets_needed=False` is for commands that do not call SWR (report, diff, query,
    dashboard; rebuild, load, thin): they work without the environment variables of `auth`.
    `lake_secrets_needed=False` is for those that read only the DuckDB file, not the lake
    (report, diff, query, dashboard, `cleanup plan`, `cleanup apply` without --yes): they work
    without those of `output.s3` too, such as the systemd unit's `${CREDENTIALS_DIRECTORY}`,
    set for the service alone. Relative paths are relative to the config file's folder, or to
    the working directory for a config read from a pipe (`relative_to`).
    """
    path = Path(path)
    raw = read_yaml(path)
    base = relative_to(path)
    env = dict(os.environ) if environ is None else environ
    expanded = expand_env(raw, env, str(path), "", secrets_needed, lake_secrets_needed)
    expanded = with_secret_files(expanded, path, base, secrets_needed, lake_secrets_needed)
    if "source" in expanded:
        raise ConfigError("unknown key", file=str(path), key="source")
    try:
        config = Config.model_validate({**expanded, "source": path})
    except ValidationError as exc:
        raise config_error_from(exc, str(path)) from None
    remember_secrets(*secrets_of(config))
    return resolve_paths(config, base)


def relative_to(path: Path) -> Path:
    """Return the folder the config's relative paths are relative to: the config file's, or the
    working directory for a config read from a pipe (`-c <(envsubst < config.tmpl)`: its
    folder, /dev/fd, is no place of the operator's)."""
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError:
        regular = False
    return path.parent if regular else Path.cwd()


def secrets_of(model: BaseModel) -> Iterator[str]:
    """Yield the value of every secret (SecretStr) field of a model and its sub-models."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, SecretStr):
                yield item.get_secret_value()
            elif isinstance(item, BaseModel):
                yield from secrets_of(item)


def read_yaml(path: Path) -> Any:
    """Return the parsed YAML of `path`, or raise a one-line ConfigError."""
    try:
        text = read_text(path, TEXT_LIMIT, regular_only=False)
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", file=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"the config {exc}", file=str(path)) from None
    try:
        data = load_bounded(text)  # aliases and nesting bounded (etl.bounded_yaml)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}{problem}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping with endpoints and output", file=str(path))
    return data


def expand_env(
    value: Any,
    environ: dict[str, str],
    file: str,
    key: str = "",
    secrets_needed: bool = True,
    lake_secrets_needed: bool = True,
) -> Any:
    """Return `value` with `${VAR}` / `${VAR:-default}` in every string replaced.

    Without `secrets_needed`, a variable missing under an `auth` key becomes an empty string
    instead of an error; without `lake_secrets_needed`, one under `output.s3` too.
    """
    needs = (secrets_needed, lake_secrets_needed)
    if isinstance(value, dict):
        return {
            k: expand_env(v, environ, file, _join(key, str(k)), *needs) for k, v in value.items()
        }
    if isinstance(value, list):
        return [expand_env(v, environ, file, f"{key}[{i}]", *needs) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    if "\0" in value:
        # No path, name or secret holds one; a path with one fails every file call made with it.
        raise ConfigError("holds a NUL character (\\0): no key's value may", file=file, key=key)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        if not secrets_needed and ".auth." in f"{key}.":
            return ""
        if not lake_secrets_needed and key.startswith("output.s3."):
            return ""
        raise ConfigError(f"environment variable {name} is not set", file=file, key=key)

    return ENV_RE.sub(substitute, value)


# Secrets a config may give as a file instead (a Kubernetes or Vault secret mount): `KEY_file`.
# `token_file` is read at each run instead (a token may be rotated in place).
SECRET_FILE_KEYS = {"auth": ("password", "ak", "sk"), "s3": ("access_key", "secret_key")}


def with_secret_files(
    data: dict[str, Any],
    path: Path,
    base: Path,
    secrets_needed: bool = True,
    lake_secrets_needed: bool = True,
) -> Any:
    """Return the config data with each `KEY_file` of an endpoint's auth and of output.s3
    replaced by KEY, the file's text (stripped). Relative files are relative to `base` (the
    config's folder: `relative_to`).
    Files a command does not need are not read (`load_config`): auth's without
    `secrets_needed`, output.s3's without `lake_secrets_needed`."""
    places: list[tuple[str, str, Any]] = []
    for index, endpoint in enumerate(data.get("endpoints") or []):
        if isinstance(endpoint, dict):
            places.append(("auth", f"endpoints[{index}].auth", endpoint.get("auth")))
    output = data.get("output")
    if isinstance(output, dict):
        places.append(("s3", "output.s3", output.get("s3")))
    for kind, where, section in places:
        if not isinstance(section, dict):
            continue
        for name in SECRET_FILE_KEYS[kind]:
            file_key = f"{name}_file"
            if file_key not in section:
                continue
            key = f"{where}.{file_key}"
            if name in section:
                raise ConfigError(f"give {name} or {file_key}, not both", file=str(path), key=key)
            file = base / str(section.pop(file_key))
            needed = secrets_needed if kind == "auth" else lake_secrets_needed
            section[name] = read_secret_file(file, str(path), key) if needed else ""
    return data


def read_secret_file(file: Path, config: str, key: str) -> str:
    """Return a secret file's text, stripped; raise ConfigError naming `key` (never showing the
    text). Every `*_file` key is read here: a small regular UTF-8 file (`etl.textfiles`)."""
    try:
        text = read_text(file, SECRET_LIMIT).strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}", file=config, key=key) from None
    except ValueError as exc:
        raise ConfigError(f"{file} {exc}", file=config, key=key) from None
    if not text:
        raise ConfigError(f"{file} is empty", file=config, key=key)
    return text


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def config_error_from(exc: ValidationError, file: str) -> ConfigError:
    """Return a one-line ConfigError for the first problem pydantic found."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    # A discriminated union puts the chosen tag in the path: `auth.token.token` → `auth.token`.
    if (
        "auth" in loc
        and loc.index("auth") + 1 < len(loc)
        and loc[loc.index("auth") + 1]
        in (
            "token",
            "password",
            "aksk",
        )
    ):
        del loc[loc.index("auth") + 1]
    key = ""
    for part in loc:
        key = f"{key}[{part}]" if isinstance(part, int) else _join(key, str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "union_tag_invalid":
        message = "auth type must be one of token, password, aksk"
    return ConfigError(message, file=file, key=key or None)


def resolve_paths(config: Config, base: Path) -> Config:
    """Return the config with output, token_file and ca_bundle paths made absolute."""

    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    copy, page, metrics = (
        config.output.readonly_copy,
        config.output.dashboard,
        config.output.metrics,
    )
    lake = config.output.lake
    output = config.output.model_copy(
        update={
            "lake": absolute(lake) if isinstance(lake, Path) else lake,
            "duckdb": absolute(config.output.duckdb),
            "readonly_copy": absolute(copy) if copy else None,
            "dashboard": absolute(page) if page else None,
            "metrics": absolute(metrics) if metrics else None,
        }
    )
    endpoints = []
    for endpoint in config.endpoints:
        auth = endpoint.auth
        if isinstance(auth, TokenAuthConfig) and auth.token_file is not None:
            auth = auth.model_copy(update={"token_file": absolute(auth.token_file)})
        bundle = absolute(endpoint.ca_bundle) if endpoint.ca_bundle else None
        endpoints.append(endpoint.model_copy(update={"auth": auth, "ca_bundle": bundle}))
    return config.model_copy(update={"output": output, "endpoints": endpoints})


def token_from(auth: TokenAuthConfig, file: str, index: int) -> str:
    """Return the token of a token auth, reading token_file if that is how it is given."""
    if auth.token is not None:
        return auth.token.get_secret_value()
    assert auth.token_file is not None
    key = f"endpoints[{index}].auth.token_file"
    token = read_secret_file(auth.token_file, file, key)
    if unsafe_in_header(token):
        raise ConfigError(f"the token in the file {HEADER_UNSAFE}", file=file, key=key)
    remember_secrets(token)
    return token


def check_ca_bundles(endpoints: list[EndpointConfig], file: str) -> None:
    """Raise ConfigError (naming the config `file`) if an endpoint's `ca_bundle` is not a PEM
    file Python's ssl loads (read as every file an operator names: small, UTF-8, never a FIFO
    or a device)."""
    for index, endpoint in enumerate(endpoints):
        bundle = endpoint.ca_bundle
        if bundle is None:
            continue
        key = f"endpoints[{index}].ca_bundle"
        try:
            read_text(bundle, TEXT_LIMIT)
            ssl.create_default_context(cafile=str(bundle))
        except ssl.SSLError as exc:
            reason = f"holds no certificate Python can load ({exc.reason or exc})"
            raise ConfigError(f"{bundle} {reason}", file=file, key=key) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {bundle}: {exc.strerror}", file=file, key=key) from None
        except ValueError as exc:
            raise ConfigError(f"{bundle} {exc}", file=file, key=key) from None


def check_output_paths(out: OutputConfig, file: str) -> None:
    """Raise ConfigError (naming the config `file` and the key) if the lake folder, the DuckDB
    file or another output path cannot be written; create nothing."""
    outputs: list[tuple[str, Path, bool]] = [("output.duckdb", out.duckdb, False)]
    if isinstance(out.lake, Path):  # object storage is checked by a request
        outputs.append(("output.lake", out.lake, True))
    if out.readonly_copy is not None:
        outputs.append(("output.readonly_copy", out.readonly_copy, False))
    if out.dashboard is not None:
        outputs.append(("output.dashboard", out.dashboard, False))
    if out.metrics is not None:
        outputs.append(("output.metrics", out.metrics, False))
    for key, path, want_dir in outputs:
        if path.exists() and path.is_dir() != want_dir:
            kind = "a directory" if want_dir else "a file"
            raise ConfigError(f"{path} exists and is not {kind}", file=file, key=key)
        if path.exists():
            if not os.access(path, os.W_OK):
                raise ConfigError(f"{path} is not writable", file=file, key=key)
            continue
        parent = next(p for p in path.parents if p.exists())
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise ConfigError(
                f"{path} cannot be created: {parent} is not writable", file=file, key=key
            )

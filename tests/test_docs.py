"""The documentation as a newcomer meets it: a short README that links into the site, and
reference pages that are what the code says now — every command, config key, table, view,
macro and SQL file of this release in them, and every page in the site's navigation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from pydantic import BaseModel

import etl.config
from etl.cli import cli
from etl.config import AkSkAuthConfig, Config
from etl.config_file import SECRET_FILE_KEYS, load_config
from etl.store import warehouse
from tests import docs_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, id=f"{name.removesuffix('.md')}-page-is-current")
        for name in docs_reference.pages()
    ],
)
def test_a_reference_page_is_what_the_code_writes_now(name: str) -> None:
    committed = DOCS / "reference" / name
    assert committed.exists(), f"docs/reference/{name} is missing: run `make docs`"
    assert committed.read_text(encoding="utf-8") == docs_reference.pages()[name], (
        f"docs/reference/{name} is stale: run `make docs` and commit it"
    )


def test_the_check_names_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in docs_reference.pages().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "commands.md").write_text("# Commands\n", encoding="utf-8")
    monkeypatch.setattr(docs_reference, "REFERENCE", tmp_path)
    assert docs_reference.main(["--check"]) == 1
    assert docs_reference.main([]) == 0  # rewrites it
    assert docs_reference.main(["--check"]) == 0


# --- every command, key, table, view, macro and SQL file is in the site -----------------------


def commands(group: click.Group, path: str = "swr-etl") -> Iterator[str]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        elif not command.hidden:
            yield f"{path} {name}"


def test_every_command_is_in_the_command_reference() -> None:
    headings = set(re.findall(r"^## `(.+)`$", page("reference/commands.md"), re.M))
    assert set(commands(cli)) - headings == set()


def schema_keys(schema: dict[str, Any], defs: dict[str, Any], path: str = "") -> Iterator[str]:
    """Yield every key path (`endpoints[].auth.token`) of the config's JSON schema, walked
    independently of the page's own walk of the models."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        model = getattr(etl.config, name, None)
        if isinstance(model, type) and issubclass(model, BaseModel):  # not a value (S3Location)
            yield from schema_keys(defs[name], defs, path)
        return
    for choice in schema.get("anyOf", []) + schema.get("oneOf", []):
        yield from schema_keys(choice, defs, path)
    if "items" in schema:
        yield from schema_keys(schema["items"], defs, f"{path}[]")
    for key, inner in schema.get("properties", {}).items():
        full = f"{path}.{key}".lstrip(".")
        yield full
        yield from schema_keys(inner, defs, full)


def documented_keys() -> set[str]:
    """Return every key path the configuration reference lists: its sections' rows."""
    found: set[str] = set()
    for section, body in re.findall(
        r"^## (.+?)\n(.*?)(?=^## |\Z)", page("reference/configuration.md"), re.M | re.S
    ):
        where = re.match(r"`([^`]+)`", section)
        prefix = where.group(1) + "." if where else ""
        found |= {prefix + key for key in re.findall(r"^\| `(\w+)` \|", body, re.M)}
    return found


def test_every_config_key_is_in_the_configuration_reference() -> None:
    schema = Config.model_json_schema(mode="serialization")
    keys = set(schema_keys(schema, schema["$defs"]))
    keys |= {f"endpoints[].auth.{name}_file" for name in SECRET_FILE_KEYS["auth"]}
    keys |= {f"output.s3.{name}_file" for name in SECRET_FILE_KEYS["s3"]}
    assert "output.s3.secret_key_file" in keys and "endpoints[].targets[].tag" in keys
    assert keys - documented_keys() == set()


def test_every_config_key_has_a_description() -> None:
    rows = re.findall(r"^\| `(\w+)` \|.*\| (.*) \|$", page("reference/configuration.md"), re.M)
    assert [key for key, description in rows if not description.strip()] == []


def test_every_table_view_and_macro_is_in_the_database_reference(tmp_path: Path) -> None:
    with warehouse.connect(tmp_path / "fresh.duckdb") as con:
        names = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal UNION "
                "SELECT view_name FROM duckdb_views() WHERE NOT internal UNION "
                "SELECT function_name FROM duckdb_functions() "
                "WHERE macro_definition IS NOT NULL AND NOT internal"
            ).fetchall()
        }
    text = page("reference/sql.md")
    headings = set(re.findall(r"^### `(\w+)", text, re.M))
    assert len(names) > 40 and names - headings == set()
    assert "Not described" not in text, "a table, view or macro has no `--` comment"


def test_every_sql_file_is_in_the_sql_files_reference() -> None:
    text = page("reference/sql-files.md")
    files = sorted(p.relative_to(ROOT / "sql") for p in (ROOT / "sql").rglob("*.sql"))
    missing = [
        str(f)
        for f in files
        if f"## `sql/{f.parent}/`".replace("/./", "/") not in text or f"| `{f.name}` |" not in text
    ]
    assert len(files) > 90 and missing == []


# --- the site and the README ------------------------------------------------------------------


def nav_pages(entries: Any) -> Iterator[str]:
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        yield from nav_pages(value) if isinstance(value, list) else [value]


def test_every_page_is_in_the_site_navigation() -> None:
    nav = set(nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages == nav


def test_the_site_builds_offline() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["theme"]["font"] is False  # Material would fetch web fonts
    assert config["strict"] is True


def test_the_readme_is_short_and_links_to_every_page() -> None:
    assert len(README.splitlines()) <= 250
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    linked = set(re.findall(r"\]\(docs/([\w/.-]+\.md)", README))
    assert {
        p for p in nav_pages(nav) if p not in ("index.md", "changelog.md", "contributing.md")
    } - linked == set()
    assert all((DOCS / name).exists() for name in linked)
    assert "](CONTRIBUTING.md)" in README


def test_the_readme_says_no_issue_numbers_and_no_commits() -> None:
    assert re.findall(r"issue \d+|\b[0-9a-f]{7,40}\b", README) == []


def test_the_readmes_config_is_a_valid_config(tmp_path: Path) -> None:
    block = README[README.index("```yaml\n") + len("```yaml\n") :]
    # Its access key files, in a temporary folder standing for /etc/swr-etl/.
    (tmp_path / "swr-access-key").write_text("AK\n", encoding="utf-8")
    (tmp_path / "swr-secret-key").write_text("SK\n", encoding="utf-8")
    path = tmp_path / "config.yaml"
    text = block[: block.index("```")]
    assert "/etc/swr-etl/swr-access-key" in text and "${" not in text  # cron passes no secret
    path.write_text(text.replace("/etc/swr-etl/", f"{tmp_path}/"), encoding="utf-8")
    config = load_config(path, environ={})
    assert [e.name for e in config.endpoints] == ["cn-north-4"]
    auth = config.endpoints[0].auth
    assert isinstance(auth, AkSkAuthConfig) and auth.ak.get_secret_value() == "AK"

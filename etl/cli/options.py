"""Options and option types the commands share or that read what they name."""

from __future__ import annotations

from pathlib import Path

import click

from etl.textfiles import TEXT_LIMIT, read_text

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The YAML config file.",
)


class TextFile(click.ParamType[str, str]):
    """An option naming a small UTF-8 text file (`-`: stdin); its value is the file's text,
    read bounded when the option is parsed (`etl.textfiles`): anything else is a usage error."""

    name = "file"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        path = Path("/dev/stdin") if value == "-" else Path(value)
        try:
            return read_text(path, TEXT_LIMIT, regular_only=False)
        except OSError as exc:
            self.fail(f"cannot read {value}: {exc.strerror}", param, ctx)
        except ValueError as exc:
            self.fail(f"{value} {exc}", param, ctx)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "json", "csv"]),
    default="table",
    show_default=True,
    help="table/markdown for people; json/csv (stable columns, exact integers) for scripts.",
)

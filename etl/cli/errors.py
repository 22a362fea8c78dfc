"""How the command line fails: one `error:` line on stderr (registry text escaped) and the
error's exit code, for the tool's own errors, an interrupt and click's usage mistakes alike."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from etl.errors import EtlError, Interrupted
from etl.present.text import printable

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(command: F) -> F:
    """Turn an EtlError raised by a command into `error: ...` on stderr and its exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            exc = Interrupted(signal.SIGINT)
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except EtlError as exc:
            # The message may quote what a server or registry said: control characters escaped.
            click.echo(f"error: {printable(str(exc))}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


class OneLineUsage(click.Group):
    """A click group whose usage mistakes (a bad option value, a missing argument) print one
    `error:` line and exit 2, like every other error of swr-etl."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "swr-etl"
            click.echo(f"error: {where}: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

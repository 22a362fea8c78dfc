"""How the command line fails, in one place: the command group (`OneLineErrors`), for every
command. Each failure is one `error:` line on stderr (registry text escaped, held secrets
removed) and an exit code: an EtlError's own, 130 for Ctrl-C, 2 for click's usage mistakes,
and 70 (EX_SOFTWARE) for anything else, which is a bug: its traceback is printed only under
`-v` (`swr-etl -v CMD`, or `sync -v`). A stdout closed by its reader (`| head`) is quiet."""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import traceback
from typing import Any

import click

from etl.errors import EtlError, Interrupted, StorageError, os_reason
from etl.present.text import printable
from etl.redact import redact

EX_SOFTWARE = 70  # sysexits.h: an internal software error; exit 1 stays "some targets failed"
CLOSED_STDOUT = 128 + signal.SIGPIPE  # what a shell reports for a tool its reader stopped
TRACEBACKS = "swr_etl.tracebacks"  # the context's meta key: print a bug's traceback
# A write the disk refused (full, over quota, read-only, failing) is storage's exit 4, not a bug.
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


def show_tracebacks() -> None:
    """Ask the group to print the traceback of an unexpected error (`-v`)."""
    click.get_current_context().meta[TRACEBACKS] = True


def tracebacks_shown() -> bool:
    """Return True if `-v` asked for tracebacks (`swr-etl -v CMD`)."""
    return bool(click.get_current_context().meta.get(TRACEBACKS, False))


def verbose_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """The group's `-v`: tracebacks for every command (and `sync`'s debug lines)."""
    if value:
        ctx.meta[TRACEBACKS] = True
    return value


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=verbose_callback,
    help="On an unexpected error (a bug, exit 70), print its traceback before its one line; "
    "with sync, also what `sync -v` logs.",
)


class OneLineErrors(click.Group):
    """A click group through which every failure of every command ends as one `error:` line
    and its exit code, never as a traceback (but under `-v`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # `main` says these as click's usage mistakes
        except (Exception, KeyboardInterrupt) as exc:
            sys.exit(report(exc, ctx.meta.get(TRACEBACKS, False), command_of(ctx)))

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
        except click.Abort:  # click's word for an interrupt while it parsed
            sys.exit(report(KeyboardInterrupt(), False, None))
        except (Exception, KeyboardInterrupt) as exc:  # before a command ran: still one line
            sys.exit(report(exc, False, None))
        sys.exit(code if isinstance(code, int) else 0)


def command_of(ctx: click.Context) -> str | None:
    """Return the command a group's context ran, as typed after `swr-etl` (`cleanup plan`)."""
    if ctx.invoked_subcommand is None:
        return None
    path = ctx.command_path.split(" ")[1:]  # the group's own, after the program's name
    return " ".join([*path, ctx.invoked_subcommand])


def report(exc: BaseException, verbose: bool, command: str | None) -> int:
    """Say `exc` in one `error:` line on stderr (a bug's traceback before it if `verbose`) and
    return the exit code the process ends with."""
    if isinstance(exc, KeyboardInterrupt):
        exc = Interrupted(signal.SIGINT)
    if isinstance(exc, BrokenPipeError) and stdout_closed():
        silence_stdout()
        return CLOSED_STDOUT
    if isinstance(exc, OSError) and exc.filename:
        # A file the OS refused us (a full disk, a missing folder, no permission): the
        # disk's or the path's fault, said as a storage error is, not a bug.
        exc = StorageError(f"cannot use {exc.filename}: {os_reason(exc)}")
    elif isinstance(exc, OSError) and exc.errno in DISK_ERRORS:
        if verbose:  # every write of our own names its file; this one did not: where was it?
            print_traceback(exc)
        exc = StorageError(f"a disk refused a write: {os_reason(exc)}")
    if isinstance(exc, EtlError):
        say(str(exc))
        return exc.exit_code
    if verbose:
        print_traceback(exc)
    say(unexpected(exc, command, verbose))
    return EX_SOFTWARE


def print_traceback(exc: BaseException) -> None:
    """Print the traceback of `exc` on stderr: each frame as Python shows it, each message (what
    a server sent may be in it) on one line, escaped, held secrets removed."""
    for chunk in traceback.TracebackException.from_exception(exc).format():
        frame = chunk.startswith("  File ")  # our source code, over several lines
        for line in chunk.rstrip("\n").splitlines() if frame else [chunk.strip("\n")]:
            click.echo(printable(redact(line)), err=True)


def unexpected(exc: BaseException, command: str | None, verbose: bool) -> str:
    """Return the line of an exception nothing expected: its type, its message, where."""
    where = f"swr-etl {command}" if command else "swr-etl"
    detail = f": {exc}" if str(exc) else ""
    hint = "" if verbose else f"; `swr-etl -v {command or 'CMD'} …` prints where"
    return f"unexpected {type(exc).__name__} in {where}{detail} (a bug in swr-etl{hint})"


def say(message: str) -> None:
    """Print `error: MESSAGE` as one line: control characters escaped, held secrets removed."""
    click.echo(f"error: {printable(redact(message))}", err=True)


def stdout_closed() -> bool:
    """Return True if stdout is a pipe whose reader has gone (`swr-etl report | head`)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
    except (AttributeError, ValueError, OSError):  # not a file (a test's capture)
        return False
    return any(events & select.POLLERR for _, events in poller.poll(0))


def silence_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for the gone reader is dropped."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def exit_code(done: SystemExit) -> int:
    """Return the status a SystemExit asks for (a message is printed, as Python does)."""
    if done.code is None or isinstance(done.code, int):
        return done.code or 0
    say(str(done.code))  # no code of ours exits so: a library did
    return EX_SOFTWARE


def flushed(code: int) -> int:
    """Flush stdout and stderr; return `code`, or CLOSED_STDOUT for a run that went well but
    whose reader went before the last of its output (as when a write noticed it)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (`| head`): what was not read is not wanted
            if stream is sys.stdout and code == 0 and stdout_closed():
                code = CLOSED_STDOUT
    return code

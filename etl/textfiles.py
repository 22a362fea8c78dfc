"""The small text files an operator names: the config, a secret (`token_file`, `password_file`,
`ak_file`, `sk_file`, `output.s3.*_file`), the SQL of `query -f`. Each is read whole, but never
more than a limit, as UTF-8; a secret must be a regular file, decided without blocking (a FIFO
opened for reading would wait for a writer forever, `/dev/zero` never ends).

Problems are `OSError` (the file cannot be opened or read: its `strerror` says why) or
`ValueError` (it is not what it must be: the message reads after the file's name, "is a
FIFO…"); the caller names the file and the key or option. Imports nothing of ours.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

# A secret is sent in a header: servers refuse header lines far shorter (8 KiB in nginx, 16
# KiB in aiohttp). 64 KiB holds any token, key or password with room to spare, and is read at
# once; more is a file named by mistake (a log, an image, a disk).
SECRET_LIMIT = 64 * 1024
# A config of a thousand endpoints is ~200 KiB; more is not a config, nor a query.
TEXT_LIMIT = 1024 * 1024

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's begin with these too
KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotAFile(ValueError):
    """What is at the path is not a regular file (a FIFO, a device, a directory, a socket)."""


def read_text(path: Path, limit: int, regular_only: bool = True) -> str:
    """Return the text of `path`: at most `limit` bytes of UTF-8 (a byte order mark dropped).

    `regular_only` (secrets): anything but a regular file is refused before a byte is read.
    Otherwise a pipe is read too (`-c <(envsubst < config.tmpl)`), as far as `limit`.
    """
    return decoded(read_bytes(path, limit, regular_only))


def read_bytes(path: Path, limit: int, regular_only: bool = True) -> bytes:
    """Return the bytes of `path`, refusing more than `limit`; see `read_text`."""
    # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        found = os.fstat(fd)
        mode = found.st_mode
        if stat.S_ISDIR(mode) or (regular_only and not stat.S_ISREG(mode)):
            raise NotAFile(f"is {KINDS.get(stat.S_IFMT(mode), 'not a file')}, not a regular file")
        if stat.S_ISREG(mode) and found.st_size > limit:
            raise ValueError(too_large(limit))
        # A pipe is read as it comes; one that no writer holds open reads as empty at once.
        os.set_blocking(fd, True)
        data = read_at_most(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(too_large(limit))
    return data


def read_at_most(fd: int, size: int) -> bytes:
    """Return up to `size` bytes of `fd`, reading until its end or that many."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> str:
    units = ((1 << 20, "MiB"), (1 << 10, "KiB"), (1, "bytes"))
    size = next(f"{limit // scale} {unit}" for scale, unit in units if limit % scale == 0)
    return f"is larger than {size}: is it the right file?"


def decoded(data: bytes) -> str:
    """Return `data` as UTF-8 text without its byte order mark; raise ValueError for anything
    else, saying where (never showing a byte: the text may be a secret)."""
    if data.startswith(UTF16_BOMS):
        # Windows PowerShell's `>` and `Out-File` write UTF-16; the same file is refused by
        # every tool that reads these files as UTF-8, so it is refused here too, plainly.
        raise ValueError(
            "is UTF-16 text (what Windows PowerShell's `>` writes), not UTF-8: save it as UTF-8"
        )
    if b"\0" in data:
        raise ValueError("is not text: it holds NUL bytes (a binary file, or UTF-16?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        begins = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[begins : exc.start].decode("utf-8", "replace")) + 1
        raise ValueError(
            f"is not UTF-8 text: the byte at line {line}, column {column} is not UTF-8 "
            "(Latin-1 or another code page?): save it as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")

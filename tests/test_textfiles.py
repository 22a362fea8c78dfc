"""The files an operator names are read whole, bounded, as UTF-8, and a secret only from a
regular file, decided before a byte is read (`etl.textfiles`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.textfiles import SECRET_LIMIT, read_text
from tests.commands import time_limit
from tests.configs import GOOD


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(b"token\n", "token\n", id="utf-8"),
        pytest.param(b"\xef\xbb\xbftoken\r\n", "token\r\n", id="utf-8-with-bom-notepad"),
        pytest.param("caf\u00e9".encode(), "caf\u00e9", id="utf-8-beyond-ascii"),
        pytest.param(b"", "", id="empty"),
    ],
)
def test_utf8_text_is_read_without_its_byte_order_mark(
    tmp_path: Path, data: bytes, text: str
) -> None:
    (tmp_path / "f").write_bytes(data)
    assert read_text(tmp_path / "f", SECRET_LIMIT) == text


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(
            "é\nab\u00e9\xe9".encode("utf-8")[:-2] + b"\xe9", "line 2, column 4", id="char-col"
        ),
        pytest.param("x".encode("utf-16-le"), "NUL bytes", id="utf-16-without-bom"),
        pytest.param("x".encode("utf-32"), "UTF-16", id="utf-32-with-bom"),
        pytest.param(b"\xfe\xff\x00x", "UTF-16", id="utf-16-big-endian"),
    ],
)
def test_other_encodings_are_refused_saying_where(tmp_path: Path, data: bytes, says: str) -> None:
    (tmp_path / "f").write_bytes(data)
    with pytest.raises(ValueError, match=says):
        read_text(tmp_path / "f", SECRET_LIMIT)


def test_the_limit_is_the_largest_file_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"a" * 100)
    assert len(read_text(tmp_path / "f", 100)) == 100
    with pytest.raises(ValueError, match="is larger than 99 bytes"):
        read_text(tmp_path / "f", 99)


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with time_limit(10), pytest.raises(ValueError, match="is a FIFO"):
        read_text(tmp_path / "fifo", SECRET_LIMIT)


def test_a_config_may_come_from_a_pipe_but_not_without_bound(tmp_path: Path) -> None:
    # `swr-etl sync -c <(envsubst < config.tmpl)` names a pipe; a secret never may.
    read_end, write_end = os.pipe()
    os.write(write_end, b"endpoints: []\n")
    os.close(write_end)
    os.mkfifo(tmp_path / "fifo")
    with time_limit(10):
        assert read_text(Path(f"/dev/fd/{read_end}"), 100, regular_only=False) == "endpoints: []\n"
        with pytest.raises(ValueError, match="is larger than"):
            read_text(Path("/dev/zero"), 1 << 20, regular_only=False)
        assert read_text(tmp_path / "fifo", 100, regular_only=False) == ""  # no writer: at once
    os.close(read_end)


def test_a_config_saved_with_a_utf8_bom_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWR_TOKEN", "t")
    (tmp_path / "config.yaml").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_config(tmp_path / "config.yaml").endpoints[0].name == "cn-north-4"

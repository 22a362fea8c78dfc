"""Registry text is data (`etl.present.text`): escaped on a terminal, never a formula in a
spreadsheet."""

from __future__ import annotations

import pytest

from etl.present.text import printable, spreadsheet_safe


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("platform/api:v1.2", "platform/api:v1.2", id="a-plain-name-is-as-it-is"),
        pytest.param(
            "a\x1b]0;owned\x07b", "a\\x1b]0;owned\\x07b", id="a-title-sequence-is-escaped"
        ),
        pytest.param("line\nforged", "line\\x0aforged", id="a-newline-cannot-forge-a-line"),
        pytest.param("txt\u202egnp.exe", "txt\\u202egnp.exe", id="a-bidi-override-is-escaped"),
        pytest.param("\x9b2J", "\\x9b2J", id="a-c1-control-is-escaped"),
        pytest.param("Ünïcödé 镜像", "Ünïcödé 镜像", id="letters-of-any-script-stay"),
    ],
)
def test_what_reaches_a_terminal_is_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        pytest.param('=HYPERLINK("x")', '\'=HYPERLINK("x")', id="a-formula-is-text"),
        pytest.param("+1", "'+1", id="a-plus-is-text"),
        pytest.param("-rm", "'-rm", id="a-minus-is-text"),
        pytest.param("@sum", "'@sum", id="an-at-is-text"),
        pytest.param("\tx", "'\tx", id="a-tab-is-text"),
        pytest.param("v1.0", "v1.0", id="a-tag-stays"),
        pytest.param(-5, -5, id="a-number-stays-a-number"),
    ],
)
def test_no_cell_of_a_csv_is_a_formula(value: object, cell: object) -> None:
    assert spreadsheet_safe(value) == cell

"""The namespace and repository rules of the API page, each as a named case."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from etl.errors import NameError_
from etl.swr.names import (
    encode_repository,
    validate_namespace,
    validate_repository,
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a", id="one-letter"),
        pytest.param("a" * 64, id="64-characters"),
        pytest.param("platform", id="plain"),
        pytest.param("ml.models", id="period"),
        pytest.param("data-eng", id="hyphen"),
        pytest.param("team_a", id="underscore"),
        pytest.param("team__legacy", id="two-underscores"),
        pytest.param("a1", id="ends-with-digit"),
    ],
)
def test_valid_namespaces_pass(name: str) -> None:
    assert validate_namespace(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        pytest.param("", "1 to 64 characters", id="empty"),
        pytest.param("a" * 65, "1 to 64 characters", id="65-characters"),
        pytest.param("Platform", "only lowercase", id="uppercase"),
        pytest.param("plat/form", "only lowercase", id="slash-not-allowed"),
        pytest.param("plat form", "only lowercase", id="space"),
        pytest.param("1team", "start with a lowercase letter", id="starts-with-digit"),
        pytest.param("-team", "start with a lowercase letter", id="starts-with-hyphen"),
        pytest.param("team-", "end with a lowercase letter or digit", id="ends-with-hyphen"),
        pytest.param("team.", "end with a lowercase letter or digit", id="ends-with-period"),
        pytest.param("a___b", "at most two consecutive underscores", id="three-underscores"),
        pytest.param("a.-b", "next to each other", id="period-hyphen"),
        pytest.param("a..b", "next to each other", id="two-periods"),
        pytest.param("a_-b", "next to each other", id="underscore-hyphen"),
        pytest.param("a--b", "next to each other", id="two-hyphens"),
    ],
)
def test_invalid_namespaces_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(NameError_) as info:
        validate_namespace(name)
    assert rule in str(info.value)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 128, id="128-characters"),
        pytest.param("1api", id="starts-with-digit"),
        pytest.param("base/nginx", id="slash"),
        pytest.param("mirror/library/redis", id="two-slashes"),
        pytest.param("tools/build__cache", id="two-underscores"),
        pytest.param("web.frontend-v2", id="period-and-hyphen"),
    ],
)
def test_valid_repositories_pass(name: str) -> None:
    assert validate_repository(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        pytest.param("", "1 to 128 characters", id="empty"),
        pytest.param("a" * 129, "1 to 128 characters", id="129-characters"),
        pytest.param("Api", "only lowercase", id="uppercase"),
        pytest.param("api$v1", "only lowercase", id="dollar-is-not-a-name-character"),
        pytest.param("/api", "start with a lowercase letter or digit", id="starts-with-slash"),
        pytest.param("api/", "end with a lowercase letter or digit", id="ends-with-slash"),
        pytest.param("a//b", "next to each other", id="two-slashes"),
        pytest.param("a/-b", "next to each other", id="slash-hyphen"),
        pytest.param("a_/b", "next to each other", id="underscore-slash"),
        pytest.param("a___b", "at most two consecutive underscores", id="three-underscores"),
    ],
)
def test_invalid_repositories_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(NameError_) as info:
        validate_repository(name)
    assert rule in str(info.value)


def test_a_slash_is_sent_as_a_dollar() -> None:
    assert encode_repository("mirror/library/redis") == "mirror$library$redis"


ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
words = st.text(alphabet=ALNUM, min_size=1, max_size=8)
separators = st.sampled_from(["/", ".", "_", "__", "-"])


@st.composite
def repositories(draw: st.DrawFn) -> str:
    """Valid repository names: words joined by single separators (or '__')."""
    parts = [draw(words)]
    for _ in range(draw(st.integers(0, 5))):
        parts += [draw(separators), draw(words)]
    return "".join(parts)[:128].rstrip("/._-") or "a"


@given(repositories())
def test_generated_repositories_pass_and_round_trip(name: str) -> None:
    # Truncation can leave a separator pair at the cut: such a name is not valid, not a case.
    assume(not re.search(r"[/._-]{2,}", name.replace("__", "")) and "___" not in name)
    assert validate_repository(name) == name
    assert encode_repository(name).replace("$", "/") == name  # the server's reading
    assert "/" not in encode_repository(name)


@given(repositories(), st.sampled_from(["//", "._", "-/", "___", "A", " ", "$", "é"]), st.data())
def test_mutated_repositories_fail(name: str, insert: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(name)))
    with pytest.raises(NameError_):
        validate_repository(name[:at] + insert + name[at:])

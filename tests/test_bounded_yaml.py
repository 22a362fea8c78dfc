"""YAML read with bounds (etl.bounded_yaml): a config's aliases and nesting are bounded while
the document is composed, so a small hostile file is refused at once, and anchors as people
use them (shared auth blocks, merge keys) still read as YAML says."""

from __future__ import annotations

import pytest
import yaml

from etl.bounded_yaml import MAX_DEPTH, MAX_NODES, load_bounded
from tests.commands import time_limit


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def bomb(levels: int) -> str:
    """An alias bomb: each anchor a list of ten aliases of the one before (10^levels values)."""
    lines = [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 10)}]" for n in range(levels)]
    return "\n".join(lines) + f"\nendpoints: *a{levels - 1}\n"


def test_anchors_as_configs_use_them_read_as_yaml_says() -> None:
    text = """
defaults: &auth {type: token, token_file: token.txt}
endpoints:
  - {name: a, auth: *auth}
  - name: b
    auth:
      <<: *auth
      token_file: other.txt
"""
    assert load_bounded(text) == yaml.safe_load(text)


def test_the_depth_bound_is_exact() -> None:
    assert load_bounded(nested(MAX_DEPTH)) == yaml.safe_load(nested(MAX_DEPTH))
    with pytest.raises(yaml.YAMLError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_bounded(nested(MAX_DEPTH + 1))


def test_aliases_that_nest_deeper_than_the_bound_once_expanded_are_refused() -> None:
    half = MAX_DEPTH // 2 + 1
    text = f"a: &a {nested(half)}\nb: [{'[' * half}*a{']' * half}]\n"
    with pytest.raises(yaml.YAMLError, match="once its aliases are expanded"):
        load_bounded(text)


@pytest.mark.parametrize(
    "levels", [pytest.param(6, id="a-million"), pytest.param(9, id="a-billion")]
)
def test_an_alias_bomb_is_refused_at_once_in_little_memory(levels: int) -> None:
    with time_limit(5, memory=200 * 2**20), pytest.raises(yaml.YAMLError) as refused:
        load_bounded(bomb(levels))
    assert f"expands to more than {MAX_NODES:,} values" in str(refused.value)


def test_aliases_within_the_bound_expand() -> None:
    assert len(load_bounded(bomb(4))["endpoints"]) == 10  # 11,111 values


def test_an_alias_of_the_list_that_holds_it_is_refused() -> None:
    with pytest.raises(yaml.YAMLError, match="refers to a list or mapping that holds it"):
        load_bounded("a: &a [1, *a]\n")

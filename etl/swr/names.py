"""The namespace and repository name rules of the API page, and the '/' → '$' encoding.

Pure functions: both the client and the local API use them to reject names before any
request, and each failure names the rule it broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from etl.errors import NameError_

LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True)
class NameRules:
    """One kind of name as the API page describes it."""

    kind: str
    max_length: int
    separators: str
    first_allowed: frozenset[str]
    first_rule: str

    @property
    def allowed(self) -> frozenset[str]:
        return LOWER_ALNUM | frozenset(self.separators)


# The API page: namespace "1 to 64 characters, starting with a lowercase letter and ending with a
# lowercase letter or digit. Only lowercase letters, digits, periods, underscores and hyphens".
NAMESPACE = NameRules(
    kind="namespace",
    max_length=64,
    separators="._-",
    first_allowed=frozenset("abcdefghijklmnopqrstuvwxyz"),
    first_rule="must start with a lowercase letter",
)
# The API page: repository "1 to 128 characters ... start and end with a lowercase letter or
# digit ... lowercase letters, digits, periods, slashes, underscores and hyphens".
REPOSITORY = NameRules(
    kind="repository",
    max_length=128,
    separators="./_-",
    first_allowed=LOWER_ALNUM,
    first_rule="must start with a lowercase letter or digit",
)


def broken_rule(name: str, rules: NameRules) -> str | None:
    """Return the first rule of the API page that `name` breaks, or None if it is valid."""
    checks: list[tuple[Callable[[str], bool], str]] = [
        (lambda n: 1 <= len(n) <= rules.max_length, f"must be 1 to {rules.max_length} characters"),
        (
            lambda n: set(n) <= rules.allowed,
            f"only lowercase letters, digits and {' '.join(rules.separators)} are allowed",
        ),
        (lambda n: n[0] in rules.first_allowed, rules.first_rule),
        (lambda n: n[-1] in LOWER_ALNUM, "must end with a lowercase letter or digit"),
        (lambda n: "___" not in n, "at most two consecutive underscores are allowed"),
        (
            lambda n: _adjacent_separators(n, rules.separators) is None,
            f"{' '.join(rules.separators)} cannot be placed next to each other",
        ),
    ]
    for passes, rule in checks:
        if not passes(name):
            return rule
    return None


def _adjacent_separators(name: str, separators: str) -> str | None:
    """Return the first pair of adjacent separators other than the allowed '__', if any."""
    pattern = "[" + re.escape(separators) + "]{2,}"
    for match in re.finditer(pattern, name):
        if match.group() != "__":
            return match.group()
    return None


def validate_namespace(name: str) -> str:
    """Return `name` unchanged if it is a valid namespace; raise NameError_ naming the rule."""
    return _validate(name, NAMESPACE)


def validate_repository(name: str) -> str:
    """Return `name` unchanged if it is a valid repository; raise NameError_ naming the rule."""
    return _validate(name, REPOSITORY)


def _validate(name: str, rules: NameRules) -> str:
    rule = broken_rule(name, rules)
    if rule is not None:
        raise NameError_(rules.kind, name, rule)
    return name


def encode_repository(repository: str) -> str:
    """Return the repository as the API expects it in the path: every '/' replaced by '$'."""
    # The API page: "Replace a slash (/) with a dollar sign ($) before you send the request."
    return repository.replace("/", "$")


# A tag's grammar is the registry's (the distribution project's reference grammar, which
# Docker and SWR's image references follow: `tag := [\w][\w.-]{0,127}`). The API pages state
# no rule of their own. A name outside it is never sent in a path: `..` would be a dot
# segment that a normalising proxy turns into the repository's path.
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def validate_tag(name: str) -> str:
    """Return `name` unchanged if it is a tag name of the registry's grammar; raise NameError_
    naming the rule."""
    if TAG_PATTERN.fullmatch(name) is None:
        rule = (
            "must be 1 to 128 letters, digits, _ . or -, not starting with . or -"
            " (the registry's tag grammar)"
        )
        raise NameError_("tag", name, rule)
    return name

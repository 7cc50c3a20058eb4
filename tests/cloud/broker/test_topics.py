"""Topic matching, ACL coverage and the subscription tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.mqtt.topics import (
    FilterSpec,
    SubscriptionTree,
    TopicError,
    check_filter,
    covers,
    matches,
    parse_subscription,
)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a", True),  # '#' includes the parent level (§4.7.1.2)
        ("a/#", "a/b/c", True),
        ("#", "a/b", True),
        ("+/+", "a/b", True),
        ("+", "/a", False),
        ("/+", "/a", True),
        ("#", "$SYS/x", False),  # wildcards at the start never reach $ topics (§4.7.2)
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
        ("a/b", "a/b/", False),
    ],
)
def test_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("pattern", "topic_filter", "expected"),
    [
        ("apf/o1/agents/+/printers/+/state", "apf/o1/agents/+/printers/+/state", True),
        ("apf/o1/agents/+/printers/+/state", "apf/o1/agents/a1/printers/p1/state", True),
        ("apf/o1/agents/+/printers/+/state", "apf/o1/agents/+/printers/#", False),
        ("apf/o1/agents/+/printers/+/state", "apf/o1/#", False),
        ("apf/o1/agents/+/printers/+/state", "#", False),
        ("apf/o1/agents/+/printers/+/state", "+/o1/agents/+/printers/+/state", False),
        ("apf/o1/+", "apf/o1/#", False),  # would reach apf/o1/x/config
        ("apf/o1/#", "apf/o1/+/config", True),
        ("apf/#", "$share/g/apf/x", False),
        ("$share/+/apf/#", "$share/g/apf/x/#", True),
        ("#", "$CONTROL/dynamic-security/v1", False),
        ("$CONTROL/dynamic-security/#", "$CONTROL/dynamic-security/v1/response", True),
    ],
)
def test_covers(pattern: str, topic_filter: str, expected: bool) -> None:
    assert covers(pattern, topic_filter) is expected


@pytest.mark.parametrize("bad", ["", "a/#/b", "a#", "a/b+", "+a"])
def test_bad_filters_are_refused(bad: str) -> None:
    with pytest.raises(TopicError):
        check_filter(bad)


def test_shared_subscriptions_are_split_into_group_and_filter() -> None:
    assert parse_subscription("$share/cloud/apf/+/x") == FilterSpec("apf/+/x", "cloud")
    assert parse_subscription("apf/+/x") == FilterSpec("apf/+/x")
    for bad in ("$share/g", "$share//a", "$share/+/a", "$share/g/a/#/b"):
        with pytest.raises(TopicError):
            parse_subscription(bad)


levels = st.sampled_from(["a", "b", "c", "$SYS", ""])
topics = st.lists(levels, min_size=1, max_size=4).map("/".join)
filters = st.lists(
    st.sampled_from(["a", "b", "c", "+", "$SYS", ""]), min_size=1, max_size=4
).flatmap(lambda parts: st.sampled_from([parts, [*parts, "#"]]).map("/".join))


@settings(max_examples=300, deadline=None)
@given(st.lists(filters, max_size=12, unique=True), topics)
def test_the_tree_finds_exactly_the_filters_that_match(subscribed: list[str], topic: str) -> None:
    tree = SubscriptionTree()
    for i, topic_filter in enumerate(subscribed):
        tree.add(FilterSpec(topic_filter), f"c{i}", 1)
    found = {cid for branch in tree.match(topic) for cid in branch.plain}
    expected = {f"c{i}" for i, f in enumerate(subscribed) if matches(f, topic)}
    assert found == expected
    for i, topic_filter in enumerate(subscribed):
        assert tree.remove(FilterSpec(topic_filter), f"c{i}")
    assert not [b for b in tree.match(topic) if b.plain]

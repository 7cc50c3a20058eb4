"""Topic names, topic filters, shared subscriptions and the subscription tree.

Rules (MQTT 3.1.1 §4.7): levels are split by ``/``; ``+`` matches one whole level and
``#`` the rest of the topic (parent level included) and only as the last level; a filter
that starts with a wildcard does not match a topic that starts with ``$`` (§4.7.2), so
``#`` never receives ``$CONTROL/…``. Shared subscriptions use the ``$share/{group}/{filter}``
form that MQTT 5 standardised and Mosquitto also accepts from 3.1.1 clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_TOPIC_BYTES = 65535


class TopicError(ValueError):
    """A topic name or filter the protocol does not allow."""


def check_topic_name(topic: str) -> None:
    """A topic a message is published to: no wildcards, not empty."""
    if not topic:
        raise TopicError("empty topic name")
    if "+" in topic or "#" in topic:
        raise TopicError("a topic name must not contain + or #")
    if len(topic.encode("utf-8")) > MAX_TOPIC_BYTES:
        raise TopicError("topic name too long")


def check_filter(topic_filter: str) -> None:
    if not topic_filter:
        raise TopicError("empty topic filter")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise TopicError("# must be a whole level and the last one")
        if "+" in level and level != "+":
            raise TopicError("+ must be a whole level")


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A SUBSCRIBE filter taken apart: the filter proper and its shared group, if any."""

    topic_filter: str
    group: str | None = None


def parse_subscription(raw: str) -> FilterSpec:
    if raw.startswith("$share/"):
        _, group, *rest = raw.split("/", 2)
        if not group or "+" in group or "#" in group or not rest:
            raise TopicError("a shared subscription is $share/{group}/{filter}")
        check_filter(rest[0])
        return FilterSpec(rest[0], group)
    check_filter(raw)
    return FilterSpec(raw)


def has_wildcards(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


def matches(topic_filter: str, topic: str) -> bool:
    """Does a concrete ``topic`` match ``topic_filter``?"""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels):
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


def covers(pattern: str, topic_filter: str) -> bool:
    """Is every topic that ``topic_filter`` can match also matched by ``pattern``?

    This is how a subscription is judged against an ACL pattern: ``apf/o1/+/state`` covers
    ``apf/o1/a1/state`` and ``apf/o1/+/state`` but not ``apf/o1/#`` (which also reaches
    ``apf/o1/a1/config``). Treating the filter as if it were a topic name would let
    ``apf/o1/+`` admit ``apf/o1/#``, since ``+`` matches a level literally named ``#``.
    """
    if topic_filter.startswith("$") and pattern[:1] in ("+", "#"):
        return False  # a pattern starting with a wildcard never reaches $ topics
    p_levels = pattern.split("/")
    f_levels = topic_filter.split("/")
    for i, level in enumerate(p_levels):
        if level == "#":
            return True
        if i >= len(f_levels):
            return False
        f_level = f_levels[i]
        if f_level == "#":
            return False
        if level == "+":
            continue
        if f_level == "+" or level != f_level:
            return False
    return len(p_levels) == len(f_levels)


@dataclass(slots=True)
class Branch:
    """One level of the tree, and who subscribed with a filter that ends here."""

    children: dict[str, Branch] = field(default_factory=dict)
    # client id -> granted QoS
    plain: dict[str, int] = field(default_factory=dict)
    # shared group -> client id -> granted QoS
    shared: dict[str, dict[str, int]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.children or self.plain or self.shared)


class SubscriptionTree:
    """Filters by level, so a publish visits only the branches that can match it."""

    def __init__(self) -> None:
        self._root = Branch()

    def add(self, spec: FilterSpec, client_id: str, qos: int) -> None:
        node = self._root
        for level in spec.topic_filter.split("/"):
            node = node.children.setdefault(level, Branch())
        if spec.group is None:
            node.plain[client_id] = qos
        else:
            node.shared.setdefault(spec.group, {})[client_id] = qos

    def remove(self, spec: FilterSpec, client_id: str) -> bool:
        levels = spec.topic_filter.split("/")
        path = [self._root]
        for level in levels:
            child = path[-1].children.get(level)
            if child is None:
                return False
            path.append(child)
        node = path[-1]
        if spec.group is None:
            found = node.plain.pop(client_id, None) is not None
        else:
            members = node.shared.get(spec.group, {})
            found = members.pop(client_id, None) is not None
            if not members:
                node.shared.pop(spec.group, None)
        for depth in range(len(levels), 0, -1):  # prune the branches left empty
            if not path[depth].empty():
                break
            del path[depth - 1].children[levels[depth - 1]]
        return found

    def match(self, topic: str) -> Iterator[Branch]:
        """Every branch whose filter matches ``topic`` (each at most once)."""
        levels = topic.split("/")
        dollar = topic.startswith("$")
        stack: list[tuple[Branch, int]] = [(self._root, 0)]
        while stack:
            node, depth = stack.pop()
            wild_ok = not (dollar and depth == 0)
            if wild_ok:
                rest = node.children.get("#")
                if rest is not None:
                    yield rest
            if depth == len(levels):
                yield node
                continue
            child = node.children.get(levels[depth])
            if child is not None:
                stack.append((child, depth + 1))
            if wild_ok:
                plus = node.children.get("+")
                if plus is not None:
                    stack.append((plus, depth + 1))

"""Access control lists in the model of Mosquitto's dynamic-security plugin.

A client holds roles (each with a priority); a role holds ACL entries (type, topic,
priority, allow). A check walks the client's roles from the highest priority down and each
role's entries of the asked type from the highest priority down; the first entry whose
topic matches decides. When none matches, the default for that type decides. The types
and defaults are Mosquitto's (mosquitto.org/documentation/dynamic-security): sending a
publish and subscribing are denied by default, receiving and unsubscribing allowed.

One difference, on purpose: a subscription is judged by whether the ACL pattern *covers*
the whole filter (`topics.covers`), not by matching the filter as if it were a topic name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from shared.mqtt.topics import covers, matches


class AclType(StrEnum):
    PUBLISH_SEND = "publishClientSend"
    PUBLISH_RECEIVE = "publishClientReceive"
    SUBSCRIBE_LITERAL = "subscribeLiteral"
    SUBSCRIBE_PATTERN = "subscribePattern"
    UNSUBSCRIBE_LITERAL = "unsubscribeLiteral"
    UNSUBSCRIBE_PATTERN = "unsubscribePattern"


class Action(StrEnum):
    """What a client asks to do; each is checked against one family of ACL types."""

    PUBLISH = "publish"
    RECEIVE = "receive"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


# Which ACL types speak for an action, and how each compares its topic: "match" (the ACL
# topic is a filter and the asked topic a name), "cover" (both filters), "literal".
_TYPES: dict[Action, tuple[tuple[AclType, str], ...]] = {
    Action.PUBLISH: ((AclType.PUBLISH_SEND, "match"),),
    Action.RECEIVE: ((AclType.PUBLISH_RECEIVE, "match"),),
    Action.SUBSCRIBE: (
        (AclType.SUBSCRIBE_LITERAL, "literal"),
        (AclType.SUBSCRIBE_PATTERN, "cover"),
    ),
    Action.UNSUBSCRIBE: (
        (AclType.UNSUBSCRIBE_LITERAL, "literal"),
        (AclType.UNSUBSCRIBE_PATTERN, "cover"),
    ),
}

# The default of each action when no entry matches (Mosquitto's dynsec defaults).
DEFAULT_ACCESS: dict[Action, bool] = {
    Action.PUBLISH: False,
    Action.RECEIVE: True,
    Action.SUBSCRIBE: False,
    Action.UNSUBSCRIBE: True,
}
# How dynsec names the defaults in setDefaultACLAccess.
DEFAULT_ACCESS_TYPES: dict[str, Action] = {
    "publishClientSend": Action.PUBLISH,
    "publishClientReceive": Action.RECEIVE,
    "subscribe": Action.SUBSCRIBE,
    "unsubscribe": Action.UNSUBSCRIBE,
}


@dataclass(frozen=True, slots=True)
class AclEntry:
    type: AclType
    topic: str
    allow: bool
    priority: int = 0


@dataclass(slots=True)
class Role:
    name: str
    entries: list[AclEntry] = field(default_factory=list)

    def ordered(self) -> list[AclEntry]:
        # Stable: entries of equal priority keep the order they were added in.
        return sorted(self.entries, key=lambda e: -e.priority)


def _hits(how: str, acl_topic: str, asked: str) -> bool:
    if how == "match":
        return matches(acl_topic, asked)
    if how == "cover":
        return covers(acl_topic, asked)
    return acl_topic == asked


class AccessPolicy:
    """The ACL of one logged-in client: its roles, in order, and the defaults.

    Answers are cached per (action, topic): a client's roles do not change while it is
    connected, since any change to them disconnects it (see `DynamicSecurity`).
    """

    MAX_CACHED = 4096

    def __init__(self, roles: Iterable[Role], defaults: dict[Action, bool]) -> None:
        self._entries: dict[Action, list[tuple[str, AclEntry]]] = {a: [] for a in Action}
        for role in roles:
            for entry in role.ordered():
                for action, types in _TYPES.items():
                    for acl_type, how in types:
                        if entry.type is acl_type:
                            self._entries[action].append((how, entry))
        self._defaults = dict(defaults)
        self._cache: dict[tuple[Action, str], bool] = {}

    def allows(self, action: Action, topic: str) -> bool:
        key = (action, topic)
        answer = self._cache.get(key)
        if answer is None:
            answer = self._decide(action, topic)
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[key] = answer
        return answer

    def _decide(self, action: Action, topic: str) -> bool:
        for how, entry in self._entries[action]:
            if _hits(how, entry.topic, topic):
                return entry.allow
        return self._defaults[action]

"""Sessions, subscriptions, retained messages and the routing of a publish to its receivers.

No sockets here: a connection attaches a sender to its session and calls in. Receiving is
checked against each receiver's ACL (dynsec's ``publishClientReceive``), retained messages
included, so a subscription can never be a way around the ACL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cloud.broker.acl import Action
from cloud.broker.session import Message, Outbound, Session
from shared.mqtt.topics import FilterSpec, SubscriptionTree, has_wildcards, matches

log = logging.getLogger(__name__)

# The highest QoS granted to a subscription: outgoing QoS 2 is not implemented, and MQTT
# lets a server grant less than asked (§3.9.3). Incoming QoS 2 is accepted.
MAX_GRANTED_QOS = 1


@dataclass(frozen=True, slots=True)
class RouterLimits:
    max_inflight: int = 20
    max_queued: int = 10_000
    max_retained: int = 100_000
    # A persistent session left without a connection this long is forgotten.
    session_expiry_s: float = 3 * 24 * 3600.0


class Router:
    def __init__(self, limits: RouterLimits) -> None:
        self.limits = limits
        self.sessions: dict[str, Session] = {}
        self.tree = SubscriptionTree()
        self.retained: dict[str, Message] = {}
        self._round_robin: dict[tuple[str, str], int] = {}

    # --- subscriptions ----------------------------------------------------------------

    def subscribe(self, session: Session, raw: str, spec: FilterSpec, qos: int) -> int:
        """Add or replace one subscription; the granted QoS."""
        granted = min(qos, MAX_GRANTED_QOS)
        self.tree.add(spec, session.client_id, granted)
        session.subscriptions[raw] = (spec, granted)
        return granted

    def unsubscribe(self, session: Session, raw: str) -> None:
        entry = session.subscriptions.pop(raw, None)
        if entry is not None:
            self.tree.remove(entry[0], session.client_id)

    def retained_for(self, session: Session, granted: Iterable[tuple[FilterSpec, int]]) -> None:
        """Send the retained messages a SUBSCRIBE's new filters match: once per topic, at
        the highest QoS among the filters that match it (§3.3.1.3, [MQTT-3.3.5-1]). Shared
        subscriptions get none (MQTT 5 §4.8.2 says so, and a group shares a stream)."""
        wanted: dict[str, int] = {}
        for spec, qos in granted:
            if spec.group is not None:
                continue
            for topic in self._retained_matching(spec.topic_filter):
                wanted[topic] = max(qos, wanted.get(topic, 0))
        for topic, qos in wanted.items():
            if not session.policy.allows(Action.RECEIVE, topic):
                continue
            message = self.retained[topic]
            session.deliver(Outbound(message, min(qos, message.qos), True), force=True)

    def _retained_matching(self, topic_filter: str) -> Iterator[str]:
        if not has_wildcards(topic_filter):
            if topic_filter in self.retained:
                yield topic_filter
            return
        for topic in list(self.retained):
            if matches(topic_filter, topic):
                yield topic

    # --- publishing -------------------------------------------------------------------

    def publish(self, message: Message) -> int:
        """Keep it if retained, deliver it to every receiver allowed to have it; how many."""
        if message.retain:
            self._retain(message)
        plain: dict[str, int] = {}
        shared: list[tuple[str, dict[str, int]]] = []
        for branch in self.tree.match(message.topic):
            for client_id, qos in branch.plain.items():
                if qos > plain.get(client_id, -1):
                    plain[client_id] = qos
            for group, members in branch.shared.items():
                shared.append((group, members))
        delivered = 0
        for client_id, qos in plain.items():
            delivered += self._deliver(client_id, message, qos)
        for group, members in shared:
            chosen = self._pick(group, members)
            if chosen is not None:
                delivered += self._deliver(chosen, message, members[chosen])
        return delivered

    def _retain(self, message: Message) -> None:
        if not message.payload:
            self.retained.pop(message.topic, None)  # an empty retained payload clears it
            return
        if message.topic not in self.retained and len(self.retained) >= self.limits.max_retained:
            log.warning(
                "retained store full (%d topics): %s not kept", len(self.retained), message.topic
            )
            return
        self.retained[message.topic] = Message(message.topic, message.payload, message.qos, True)

    def _deliver(self, client_id: str, message: Message, qos: int) -> int:
        session = self.sessions.get(client_id)
        if session is None or not session.policy.allows(Action.RECEIVE, message.topic):
            return 0
        return int(session.deliver(Outbound(message, min(qos, message.qos), False)))

    def _pick(self, group: str, members: dict[str, int]) -> str | None:
        """One member of a shared group, round robin, preferring connected ones."""
        ids = sorted(members)
        online = [c for c in ids if (s := self.sessions.get(c)) is not None and s.connected]
        pool = online or ids
        if not pool:
            return None
        key = (group, ",".join(ids))
        turn = self._round_robin.get(key, 0)
        self._round_robin[key] = turn + 1
        if len(self._round_robin) > 10_000:
            self._round_robin.clear()
        return pool[turn % len(pool)]

    # --- sessions ---------------------------------------------------------------------

    def drop_session(self, client_id: str) -> None:
        session = self.sessions.pop(client_id, None)
        if session is None:
            return
        for spec, _qos in session.subscriptions.values():
            self.tree.remove(spec, client_id)

    def sessions_of(self, username: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.username == username]

    def expire(self, now: float) -> int:
        """Forget persistent sessions that have been without a connection too long."""
        old = [
            s.client_id
            for s in self.sessions.values()
            if s.offline_since is not None and now - s.offline_since > self.limits.session_expiry_s
        ]
        for client_id in old:
            self.drop_session(client_id)
        return len(old)

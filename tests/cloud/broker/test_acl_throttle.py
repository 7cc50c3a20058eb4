"""ACL decisions in dynsec's order, and the failed-login throttle."""

from __future__ import annotations

from cloud.broker.acl import DEFAULT_ACCESS, AccessPolicy, AclEntry, AclType, Action, Role
from cloud.broker.throttle import LoginThrottle, ThrottleSettings

SEND, RECEIVE = AclType.PUBLISH_SEND, AclType.PUBLISH_RECEIVE
SUB = AclType.SUBSCRIBE_PATTERN


def test_the_first_matching_entry_by_priority_decides_and_defaults_fill_in() -> None:
    role = Role(
        "dash",
        [
            AclEntry(SUB, "apf/o1/#", True, priority=0),
            AclEntry(RECEIVE, "apf/o1/#", True, priority=0),
            AclEntry(RECEIVE, "apf/+/agents/+/config", False, priority=10),
        ],
    )
    policy = AccessPolicy([role], DEFAULT_ACCESS)
    assert policy.allows(Action.SUBSCRIBE, "apf/o1/agents/+/status")
    assert not policy.allows(Action.SUBSCRIBE, "apf/o2/#")  # default: subscribe denied
    assert policy.allows(Action.RECEIVE, "apf/o1/agents/a/status")
    assert not policy.allows(Action.RECEIVE, "apf/o1/agents/a/config")  # priority 10 first
    assert not policy.allows(Action.PUBLISH, "apf/o1/agents/a/status")  # default: send denied
    assert policy.allows(Action.RECEIVE, "other/topic")  # default: receive allowed


def test_roles_are_asked_in_the_order_given() -> None:
    deny = Role("deny", [AclEntry(SEND, "a/#", False)])
    allow = Role("allow", [AclEntry(SEND, "a/#", True)])
    assert not AccessPolicy([deny, allow], DEFAULT_ACCESS).allows(Action.PUBLISH, "a/b")
    assert AccessPolicy([allow, deny], DEFAULT_ACCESS).allows(Action.PUBLISH, "a/b")


def test_literal_subscribe_entries_grant_only_the_exact_filter() -> None:
    role = Role("lit", [AclEntry(AclType.SUBSCRIBE_LITERAL, "a/+/c", True)])
    policy = AccessPolicy([role], DEFAULT_ACCESS)
    assert policy.allows(Action.SUBSCRIBE, "a/+/c")
    assert not policy.allows(Action.SUBSCRIBE, "a/b/c")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_lock_an_address_out_and_repeat_lockouts_double() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        ThrottleSettings(threshold=3, window_s=60, lockout_s=10, max_lockout_s=25), clock
    )
    assert not throttle.failed("10.0.0.9")
    assert not throttle.failed("10.0.0.9")
    assert throttle.locked_for_s("10.0.0.9") == 0
    assert throttle.failed("10.0.0.9")
    assert throttle.locked_for_s("10.0.0.9") == 10
    assert throttle.locked_for_s("10.0.0.8") == 0  # per address
    clock.now += 10
    for _ in range(3):
        throttle.failed("10.0.0.9")
    assert throttle.locked_for_s("10.0.0.9") == 20  # doubled
    clock.now += 20
    for _ in range(3):
        throttle.failed("10.0.0.9")
    assert throttle.locked_for_s("10.0.0.9") == 25  # capped


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleSettings(threshold=3, window_s=60), clock)
    for _ in range(10):
        assert not throttle.failed("10.0.0.9")
        clock.now += 31
    assert throttle.locked_for_s("10.0.0.9") == 0


def test_loopback_is_slowed_but_not_locked_out_unless_asked() -> None:
    throttle = LoginThrottle(ThrottleSettings(threshold=2), Clock())
    for _ in range(5):
        assert not throttle.failed("127.0.0.1")
        assert not throttle.failed("::1")
    assert throttle.locked_for_s("127.0.0.1") == 0
    strict = LoginThrottle(ThrottleSettings(threshold=2, lock_loopback=True), Clock())
    strict.failed("127.0.0.1")
    assert strict.failed("127.0.0.1")


def test_the_table_of_addresses_is_bounded() -> None:
    throttle = LoginThrottle(ThrottleSettings(max_addresses=100), Clock())
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._records) == 100

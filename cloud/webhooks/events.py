"""Which event names a webhook may subscribe to, and whether a subscription matches an event.

The names are the spec's (api-reference.md "Available Events": `job.*`, `printer.*`,
`material.*` and the exact names) plus the job events the cloud also logs (paused, resumed,
cancelled) and `webhook.disabled`, which tells an organization that one of its endpoints was
switched off (docs/webhooks.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from cloud.problems import invalid
from shared.enums import EventType

WEBHOOK_DISABLED: Final = "webhook.disabled"
#: The type of the message `POST /v1/webhooks/:id/test` sends; not subscribable.
WEBHOOK_TEST: Final = "webhook.test"

EVENT_NAMES: Final = (*(e.value for e in EventType), WEBHOOK_DISABLED)
WILDCARDS: Final = tuple(sorted({name.split(".", 1)[0] + ".*" for name in EVENT_NAMES}))
MAX_SUBSCRIPTIONS: Final = 50


def validate_events(names: Sequence[str], param: str = "events") -> list[str]:
    """The subscription list, de-duplicated in order; an unknown name is `invalid_request`."""
    if not names:
        raise invalid("Subscribe to at least one event.", param=param)
    if len(names) > MAX_SUBSCRIPTIONS:
        raise invalid(f"At most {MAX_SUBSCRIPTIONS} event names.", param=param)
    for name in names:
        if name not in EVENT_NAMES and name not in WILDCARDS:
            raise invalid(
                f"Unknown event '{name}'; accepted: {', '.join((*WILDCARDS, *EVENT_NAMES))}.",
                param=param,
            )
    return list(dict.fromkeys(names))


def matches(subscriptions: Iterable[str], event_type: str) -> bool:
    """True when `event_type` is named exactly or by its `family.*` wildcard."""
    family = event_type.split(".", 1)[0] + ".*"
    return any(name in (event_type, family) for name in subscriptions)

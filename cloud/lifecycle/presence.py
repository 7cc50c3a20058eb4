"""Which printer events a change of a printer's status makes: pure, one rule for every cause.

A printer's status changes for many reasons: a state snapshot from its agent, the agent's
own printer events, the agent going away (its Will after a broker restart, a crash), the
printer moved to another agent or given another connection, the agent revoked. Whatever the
cause, the events follow what the API shows, in order:

- `printer.offline` when it goes from reachable to `offline`;
- `printer.online` when it comes back from `offline` to anything else;
- `printer.error` when it enters `error` (from anything else), after a `printer.online` if
  it was offline.

No change of status, no event: a second snapshot saying the same, or an agent's event that
a snapshot already told, records nothing twice.
"""

from __future__ import annotations

from shared.enums import EventType, PrinterStatus

OFFLINE, ERROR = PrinterStatus.OFFLINE, PrinterStatus.ERROR


def presence_events(before: PrinterStatus, after: PrinterStatus) -> tuple[EventType, ...]:
    if before is after:
        return ()
    if after is OFFLINE:
        return (EventType.PRINTER_OFFLINE,)
    events: list[EventType] = []
    if before is OFFLINE:
        events.append(EventType.PRINTER_ONLINE)
    if after is ERROR:
        events.append(EventType.PRINTER_ERROR)
    return tuple(events)

"""Collect the printer's replies to raw G-code from OctoPrint's terminal log.

`POST /api/printer/command` answers 204 with no body: OctoPrint queues the lines and the
replies only show up in the terminal log it pushes in `current.logs` ("Send: G28",
"Recv: ok", … — server/util/sockjs.py `on_printer_send_current_data`). A collector starts
recording at the `Send:` line of the first command and is done after one `ok` per line.
"""

from __future__ import annotations

import asyncio


class ReplyCollector:
    def __init__(self, lines: list[str]) -> None:
        # OctoPrint may add a line number and checksum ("Send: N12 G28*34"), so match on the
        # command word only, case-insensitively.
        self._words = [line.split()[0].upper() for line in lines if line.split()]
        self._next = 0
        self.replies: list[str] = []
        self.done = asyncio.Event()

    def feed(self, log_line: str) -> None:
        if self.done.is_set():
            return
        if log_line.startswith("Send:"):
            sent = log_line[5:].split("*", maxsplit=1)[0].upper().split()
            if self._next < len(self._words) and self._words[self._next] in sent:
                self._next += 1
            return
        if self._next == 0 or not log_line.startswith("Recv:"):
            return
        reply = log_line[5:].strip()
        self.replies.append(reply)
        # Done at the first `ok` after the last of our lines went out: the printer answers
        # in order, so that ok belongs to our last line.
        if self._next == len(self._words) and (reply == "ok" or reply.startswith("ok ")):
            self.done.set()

"""One small byte-stream interface over a serial port, on the running event loop.

pyserial opens and configures the tty (baud, raw mode, DTR) and leaves the descriptor
non-blocking; asyncio's ``add_reader``/``add_writer`` then move the bytes with no thread and
no polling. That works the same for a pty (the simulator, klippy) and a USB CDC or
USB-UART device. Every serial-library import of the agent lives in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)

_READ_CHUNK_BYTES = 65536
# The protocol's window bounds what is unacknowledged; this bounds what the kernel has not
# taken yet (a flow-controlled device that stopped reading).
_MAX_WRITE_BACKLOG_BYTES = 1 << 20


class PortError(Exception):
    """The port could not be opened, or broke while in use; the message says why."""


class SerialPort:
    """A non-blocking serial port: `start(on_data, on_lost)`, `write(data)`, `close()`."""

    def __init__(self, path: str, baud: int) -> None:
        self.path = path
        self.baud = baud
        self._serial: object | None = None
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog = bytearray()
        self._on_data: Callable[[bytes], None] | None = None
        self._on_lost: Callable[[str], None] | None = None
        self.bytes_written = 0
        self.bytes_read = 0

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def open(self) -> None:
        import serial  # pyserial: the only place the agent touches it

        try:
            port = serial.Serial(
                port=self.path, baudrate=self.baud, timeout=0, write_timeout=0, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"cannot open {self.path}: {exc}") from exc
        # FTDI bridges wait 16 ms before sending a partial USB frame unless low latency is
        # set (ftdi_sio latency timer; field notes §1.3). Ptys and CDC ports refuse: fine.
        with contextlib.suppress(Exception):
            port.set_low_latency_mode(True)
        self._serial = port
        self._fd = port.fileno()
        os.set_blocking(self._fd, False)

    def start(self, on_data: Callable[[bytes], None], on_lost: Callable[[str], None]) -> None:
        """Begin delivering received bytes to `on_data`; `on_lost(reason)` once on failure."""
        self._loop = asyncio.get_running_loop()
        self._on_data = on_data
        self._on_lost = on_lost
        self._loop.add_reader(self._fd, self._readable)

    def write(self, data: bytes) -> None:
        if self._fd < 0:
            return
        if self._backlog:
            self._append_backlog(data)
            return
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._lost(f"writing to {self.path} failed: {os.strerror(exc.errno or 0)}")
            return
        self.bytes_written += written
        if written < len(data):
            self._append_backlog(data[written:])
            assert self._loop is not None
            self._loop.add_writer(self._fd, self._writable)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        if self._loop is not None:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        port, self._serial = self._serial, None
        with contextlib.suppress(Exception):
            port.close()  # type: ignore[union-attr]

    def path_exists(self) -> bool:
        return os.path.exists(self.path)

    def _append_backlog(self, data: bytes) -> None:
        if len(self._backlog) + len(data) > _MAX_WRITE_BACKLOG_BYTES:
            self._lost(f"{self.path} stopped taking data ({len(self._backlog)} bytes waiting)")
            return
        self._backlog += data

    def _writable(self) -> None:
        try:
            written = os.write(self._fd, self._backlog)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"writing to {self.path} failed: {os.strerror(exc.errno or 0)}")
            return
        self.bytes_written += written
        del self._backlog[:written]
        if not self._backlog and self._loop is not None:
            self._loop.remove_writer(self._fd)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, _READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            # EIO is what a pty or a USB device gives once its other side is gone.
            gone = exc.errno in (errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF)
            what = "port vanished (USB unplugged?)" if gone else "read failed"
            self._lost(f"{self.path}: {what}: {os.strerror(exc.errno or 0)}")
            return
        if not data:
            self._lost(f"{self.path}: port vanished (USB unplugged?): end of file")
            return
        self.bytes_read += len(data)
        assert self._on_data is not None
        self._on_data(data)

    def _lost(self, reason: str) -> None:
        log.warning("%s", reason)
        on_lost = self._on_lost
        self.close()
        if on_lost is not None:
            self._on_lost = None
            on_lost(reason)

"""Putting files on a Bambu Lab printer's storage card over its LAN FTPS (blocking).

The printer serves FTPS with *implicit* TLS on port 990 (TLS from the first byte, no
`AUTH TLS`), user `bblp`, password = the LAN access code, passive data connections over
TLS (PROT P), folders `/cache` and `/model` (README fact 10; bambu-rs docs/protocol.md
§Transport, bambulabs-api `ftp_client.py` `ImplicitFTP_TLS`). Its certificate is
self-signed, so we do not verify it against a CA: we return its SHA-256 fingerprint for
the caller to pin, and refuse a changed one before the access code is sent.

Built on stdlib ftplib, so every call blocks; the driver runs them with
`asyncio.to_thread`. `timeout` is ftplib's: the limit for each network operation (connect,
one send, one reply), not for the whole transfer.

Every failure is an `UploadError` whose message says what a person can do about it, and
never contains the access code.
"""

from __future__ import annotations

import contextlib
import ftplib
import hmac
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from agent.drivers.bambu.config import certificate_fingerprint, normalise_fingerprint

__all__ = [
    "AccessCodeRefusedError",
    "CertificateMismatchError",
    "NoStorageError",
    "PrinterUnreachableError",
    "StorageFullError",
    "UploadError",
    "delete",
    "upload",
]

log = logging.getLogger(__name__)

USERNAME = "bblp"
BLOCK_BYTES = 64 * 1024
# After a broken data connection, how long to wait for the reply that may say why.
_LATE_REPLY_TIMEOUT_S = 2.0


class UploadError(Exception):
    """A transfer to or from the printer failed; the message says what to do about it."""


class PrinterUnreachableError(UploadError):
    """No TCP connection to the printer's FTPS port (off, wrong address, LAN mode off)."""


class CertificateMismatchError(UploadError):
    """The printer's certificate is not the pinned one; nothing secret was sent."""


class AccessCodeRefusedError(UploadError):
    """The printer answered 530 to the access code; retrying soon risks its lockout."""


class StorageFullError(UploadError):
    """The printer's card has no room for the file (552)."""


class NoStorageError(UploadError):
    """No card in the printer, or it refused the path (550)."""


def upload(
    host: str,
    port: int,
    access_code: str,
    source: Path,
    remote_path: str,
    *,
    fingerprint: str | None,
    timeout: float,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Store `source` at `remote_path` (e.g. `/cache/apf-<hash>.gcode`) on the printer and
    return its certificate's fingerprint. `progress(bytes_sent)` runs after each 64 KiB
    block. The printer must report as many bytes as were sent (SIZE), else UploadError.
    """
    where = _Where(host, port, access_code)
    try:
        file = source.open("rb")
    except OSError as exc:
        raise UploadError(f"cannot read {source}: {exc.strerror}") from exc
    with file, _logged_in(host, port, access_code, fingerprint, timeout) as (ftp, actual):
        sent = _store(ftp, file, remote_path, progress, where)
        held = _remote_size(ftp, remote_path, where)
    if held != sent:
        raise UploadError(
            f"the printer at {host} holds {held} bytes of {remote_path} but {sent} were "
            "sent: the upload was cut short; try again"
        )
    log.debug("uploaded %s to %s:%d%s (%d bytes)", source, host, port, remote_path, sent)
    return actual


def delete(
    host: str,
    port: int,
    access_code: str,
    remote_path: str,
    *,
    fingerprint: str | None,
    timeout: float,
) -> None:
    """Remove `remote_path` from the printer's card; a file that is not there is fine."""
    where = _Where(host, port, access_code)
    with _logged_in(host, port, access_code, fingerprint, timeout) as (ftp, _):
        try:
            ftp.delete(remote_path)
        except ftplib.error_perm as exc:
            if str(exc).startswith("550"):
                return  # already gone (or never stored): the outcome we want
            raise where.refused(exc, f"deleting {remote_path}") from None
        except ftplib.Error as exc:
            raise where.refused(exc, f"deleting {remote_path}") from None
        except (OSError, EOFError) as exc:
            raise UploadError(f"the printer at {host} dropped the connection: {exc!r}") from exc


class _Where:
    """Where a call goes, to phrase its errors (the access code is only scrubbed out)."""

    def __init__(self, host: str, port: int, access_code: str) -> None:
        self.host = host
        self.port = port
        self._secret = access_code

    def scrub(self, text: str) -> str:
        # A printer has no reason to echo the password, but a message must never carry it.
        return text.replace(self._secret, "********") if self._secret else text

    def unreachable(self, exc: OSError) -> PrinterUnreachableError:
        if isinstance(exc, TimeoutError):
            reason = "no answer within the timeout"
        else:
            reason = exc.strerror or str(exc) or type(exc).__name__
        return PrinterUnreachableError(
            f"cannot reach the printer's FTPS port {self.port} at {self.host} ({reason}): "
            "check that it is on, at this address, and in LAN mode"
        )

    def refused(self, exc: ftplib.Error, action: str) -> UploadError:
        """The most specific UploadError for the printer's error reply to `action`."""
        reply = self.scrub(str(exc))
        code = reply[:3]
        if code == "530":
            return AccessCodeRefusedError(
                f"the printer at {self.host} refused the access code ({reply}): check the "
                "LAN access code on its screen; the printer locks LAN access for a while "
                "after repeated failures, so do not retry at once"
            )
        if code in ("552", "452") or "space" in reply.lower():
            return StorageFullError(
                f"the printer's storage is full ({reply}) while {action}: delete files "
                "from its card, then try again"
            )
        if code == "550":
            return NoStorageError(
                f"the printer at {self.host} has no storage card or refused the path "
                f"({reply}) while {action}: check that a card is inserted"
            )
        return UploadError(f"the printer at {self.host} failed {action}: {reply}")


class _ImplicitFtpTls(ftplib.FTP_TLS):
    """FTP_TLS with TLS from the first byte (implicit FTPS) instead of `AUTH TLS`."""

    def connect(
        self,
        host: str = "",
        port: int = 0,
        timeout: float = -999,
        source_address: tuple[str, int] | None = None,
    ) -> str:
        self.host, self.port = host, port
        if timeout != -999:
            self.timeout = timeout
        raw = socket.create_connection((host, port), self.timeout, source_address=source_address)
        try:
            self.sock = self.context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        # ftplib.login() sends AUTH TLS only when self.sock is not an SSLSocket yet.
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        # The data connection resumes the control connection's TLS session: both client
        # libraries written against real printers do so (bambulabs-api ftp_client.py,
        # bambu-printer-manager ftpsclient.py), as FTPS servers that check the data
        # connection comes from the same client require.
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        # ftplib keeps PROT P as the private `_prot_p`; we always send PROT P.
        if getattr(self, "_prot_p", False) and isinstance(self.sock, ssl.SSLSocket):
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


def _client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Self-signed printer certificate: trust comes from the pinned fingerprint instead.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@contextlib.contextmanager
def _logged_in(
    host: str, port: int, access_code: str, fingerprint: str | None, timeout: float
) -> Iterator[tuple[_ImplicitFtpTls, str]]:
    """A logged-in session with PROT P, and the certificate's fingerprint."""
    where = _Where(host, port, access_code)
    ftp = _ImplicitFtpTls(context=_client_context(), timeout=timeout)
    try:
        actual = _connect(ftp, where, timeout)
        pinned = None if fingerprint is None else normalise_fingerprint(fingerprint)
        if pinned is not None and not hmac.compare_digest(pinned, actual):
            # Worded like the MQTT link's (link.py), so a person sees one instruction.
            raise CertificateMismatchError(
                f"the FTPS certificate of the printer at {host}:{port} changed (pinned "
                f"SHA-256 {pinned}, now {actual}); the access code was not sent. If this is "
                f"the same printer, or it was replaced, put fingerprint={actual} in its "
                "connection to accept the new one"
            )
        try:
            ftp.login(USERNAME, access_code)
            ftp.prot_p()
        except ftplib.Error as exc:
            raise where.refused(exc, "logging in") from None
        except (OSError, EOFError) as exc:
            raise UploadError(f"the printer at {host} dropped the login: {exc!r}") from None
        yield ftp, actual
    except BaseException:
        ftp.close()
        raise
    with contextlib.suppress(*ftplib.all_errors):
        ftp.quit()
    ftp.close()


def _connect(ftp: _ImplicitFtpTls, where: _Where, timeout: float) -> str:
    try:
        ftp.connect(where.host, where.port, timeout)
    except ssl.SSLError as exc:
        raise UploadError(
            f"the TLS handshake with {where.host}:{where.port} failed ({exc.reason}): is "
            "this a Bambu printer's FTPS port?"
        ) from exc
    except OSError as exc:
        raise where.unreachable(exc) from exc
    except EOFError as exc:
        raise UploadError(f"the printer at {where.host} closed the connection at once") from exc
    except ftplib.Error as exc:
        raise where.refused(exc, "connecting") from exc
    assert isinstance(ftp.sock, ssl.SSLSocket)  # _ImplicitFtpTls.connect wrapped it
    der = ftp.sock.getpeercert(binary_form=True)
    if der is None:
        raise UploadError(f"the printer at {where.host} presented no certificate")
    return certificate_fingerprint(der)


def _store(
    ftp: _ImplicitFtpTls,
    file: BinaryIO,
    remote_path: str,
    progress: Callable[[int], None] | None,
    where: _Where,
) -> int:
    """STOR `file` in 64 KiB blocks; the number of bytes sent."""
    sent = 0

    def count(block: bytes) -> None:
        nonlocal sent
        sent += len(block)
        if progress is not None:
            progress(sent)

    action = f"storing {remote_path}"
    try:
        ftp.voidcmd("TYPE I")
        with ftp.transfercmd(f"STOR {remote_path}") as conn:
            while block := file.read(BLOCK_BYTES):
                conn.sendall(block)
                count(block)
            # Not ftplib's unwrap(): it waits for the printer's TLS close_notify, which P1
            # printers do not send after an upload (bambulabs-api: "storbinary waiting
            # indefinitely"; bambu-printer-manager shuts the socket down instead, as here).
            # The SIZE check afterwards confirms the printer holds every byte.
            conn.shutdown(socket.SHUT_RDWR)
        ftp.voidresp()
    except ftplib.Error as exc:
        raise where.refused(exc, action) from None
    except (OSError, EOFError) as exc:
        late = _late_reply(ftp)
        if late is not None:
            raise where.refused(late, action) from None
        raise UploadError(
            f"the upload of {remote_path} to {where.host} was interrupted ({exc!r}): try again"
        ) from exc
    return sent


def _late_reply(ftp: _ImplicitFtpTls) -> ftplib.Error | None:
    """The error reply a printer sent before dropping a transfer (a full card, say), if
    one comes within a moment."""
    if ftp.sock is None:
        return None
    try:
        ftp.sock.settimeout(_LATE_REPLY_TIMEOUT_S)
        ftp.getresp()
    except ftplib.Error as exc:
        return exc
    except (OSError, EOFError):
        return None
    return None


def _remote_size(ftp: _ImplicitFtpTls, remote_path: str, where: _Where) -> int:
    try:
        size = ftp.size(remote_path)
    except ftplib.Error as exc:
        raise where.refused(exc, f"checking the size of {remote_path}") from None
    except (OSError, EOFError) as exc:
        raise UploadError(f"the printer at {where.host} dropped the connection: {exc!r}") from exc
    if size is None:
        raise UploadError(f"the printer at {where.host} gave no size for {remote_path}")
    return size

"""Handing one e-mail to the mail server with a last chance to withdraw it.

`deliver` calls `handoff()` at the last moment the message can still be withdrawn: over SMTP, after
the whole message has been sent in the DATA phase but before the final "." that ends it (a server
drops a message whose DATA never ended). The caller records "handed over" in the database there;
if that fails (another worker took the delivery over), the connection is cut before the dot and
nothing is delivered. Other backends (file, console, in-memory) get the same call just before
they write. docs/digest.md explains what this buys.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

CRLF = b"\r\n"


class HandoffRefused(Exception):
    """The sender lost its claim before the point of no return; nothing was delivered."""


class ConnectionTrouble(Exception):
    """The mail server cannot be used right now (unreachable, refusing us, dropped the line):
    nothing about this message's address, so the whole batch waits and tries again."""


def classify(exc: BaseException) -> tuple[str, int | None]:
    """("permanent" | "transient" | "connection", SMTP code) for an error raised while delivering."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        code = max(codes) if codes else None
        return ("permanent" if codes and min(codes) >= 500 else "transient"), code
    if isinstance(exc, smtplib.SMTPDataError):
        return ("permanent" if exc.smtp_code >= 500 else "transient"), exc.smtp_code
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError)):
        # About our account or the server, not this address.
        return "connection", exc.smtp_code
    if isinstance(exc, smtplib.SMTPResponseException):
        return ("permanent" if exc.smtp_code >= 500 else "transient"), exc.smtp_code
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return "connection", None
    raise exc


def _cut(backend: SmtpBackend) -> None:
    """Drops the connection without QUIT (inside DATA, QUIT would be read as message text)."""
    smtp, backend.connection = backend.connection, None
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


def _deliver_smtp(backend: SmtpBackend, message: EmailMessage, handoff: Callable[[], bool]) -> None:
    try:
        backend.open()
    except OSError as exc:
        raise ConnectionTrouble(str(exc)) from exc
    smtp = backend.connection
    encoding = message.encoding or settings.DEFAULT_CHARSET
    from_email = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(a, encoding) for a in message.recipients()]
    data = message.message().as_bytes(linesep="\r\n")
    try:
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, resp = smtp.mail(from_email, options)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, resp, from_email)
        refused = {}
        for rcpt in recipients:
            code, resp = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, resp)
        if len(refused) == len(recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, resp = smtp.docmd("data")
        if code != 354:
            smtp.rset()
            raise smtplib.SMTPDataError(code, resp)
        body = re.sub(rb"(?m)^\.", b"..", data)
        if not body.endswith(CRLF):
            body += CRLF
        smtp.send(body)
    except (smtplib.SMTPServerDisconnected, OSError):
        _cut(backend)
        raise
    try:
        accepted = handoff()
    except BaseException:
        _cut(backend)
        raise
    if not accepted:
        _cut(backend)
        raise HandoffRefused()
    try:
        smtp.send(b"." + CRLF)
        code, resp = smtp.getreply()
    except (smtplib.SMTPServerDisconnected, OSError):
        _cut(backend)
        raise
    if code != 250:
        raise smtplib.SMTPDataError(code, resp)


def deliver(connection, message: EmailMessage, *, handoff: Callable[[], bool]) -> None:
    """Sends one message through an open Django mail backend; see the module's docstring."""
    if isinstance(connection, SmtpBackend):
        _deliver_smtp(connection, message, handoff)
        return
    if not handoff():
        raise HandoffRefused()
    connection.send_messages([message])

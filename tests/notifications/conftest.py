import socket
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from apps.notifications import services
from tests.accounts.factories import JINGAN, ResidentFactory


def neighbour(at=JINGAN, *, language="en", display_name=None, **prefs):
    """A resident with a home area and (when given) e-mail preferences set through the service."""
    extra = {"display_name": display_name} if display_name else {}
    resident = ResidentFactory(home=at, language=language, **extra)
    if prefs:
        services.preferences_update(resident=resident, **prefs)
    return resident


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    rcpt: list[str]
    data: bytes


@dataclass
class SmtpHandler:
    """A mail server outside the project: refuses some addresses for good (550) or for now (451)."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox here"
        if address.startswith("busy"):
            return "451 4.3.2 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(Received(list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend sends to it."""
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def run_due(django_capture_on_commit_callbacks):
    """Runs the beat's scheduler as if its transactions committed (tasks run in-process)."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return services.digests_queue_due(**kwargs)

    return run

"""The quick MIME writer of apps/notifications/emails.py against what it stands in for: the email
package's compat32 policy and Django's own message class."""

import random
import re
from email.generator import Generator
from email.policy import compat32

from django.core.mail import EmailMultiAlternatives

from apps.notifications.emails import QUICK_FOLD, Email

NAMES = ("To", "Subject", "Message-ID", "List-Unsubscribe", "X-A-Rather-Long-Header-Name-Indeed")
PIECES = ("a", "word", "Zhou", "<x@y.z>", "=?utf-8?b?5L2g5aW9?=", ";", ",", " ", "  ", "\t", "王", "=", "-" * 30)


def _values(rng: random.Random, n: int):
    yield from ("", " ", "a ", " a", "a  b", "a\tb", "a\nb", "x" * 76, "x" * 77, "é")
    for _ in range(n):
        yield "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 12)))


def test_quick_folding_is_compat32s_folding():
    rng = random.Random(20261127)
    for linesep in ("\n", "\r\n"):
        quick, reference = QUICK_FOLD.clone(linesep=linesep), compat32.clone(linesep=linesep)
        for value in _values(rng, 3000):
            for name in NAMES:
                assert quick.fold_binary(name, value) == reference.fold_binary(name, value), (name, value)
                assert quick.fold(name, value) == reference.fold(name, value), (name, value)


def _parts(**overrides):
    fields = {
        "subject": "街坊：附近有 5+ 个新摊位",
        "body": "你好：\n- Stall (¥3.50) https://jiefang.example/market/stalls/1/\n" + "长" * 400 + "\n",
        "to": ["neighbour@example.org"],
        "headers": {
            "Message-ID": "<jiefang.digest.1.D2026-01-01@jiefang.local>",
            "List-Unsubscribe": "<https://jiefang.example/notifications/unsubscribe/" + "t" * 90 + "/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "alternatives": [("<p>你好 &amp; <b>hi</b></p>\n" + "x" * 1200, "text/html")],
    }
    return {**fields, **overrides}


def _without_boundary_and_date(data: bytes) -> bytes:
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    return re.sub(rb"\nDate: [^\n]+", b"", data.replace(boundary, b"BOUNDARY"))


def test_the_quick_message_writes_the_bytes_django_writes():
    for fields in (_parts(), _parts(subject="Jiefang: 1 new stall near you", body="Hello,\n" + "y" * 2000)):
        for linesep in ("\n", "\r\n"):
            quick = Email(**fields).message().as_bytes(linesep=linesep)
            django = EmailMultiAlternatives(**fields).message().as_bytes(linesep=linesep)
            assert _without_boundary_and_date(quick) == _without_boundary_and_date(django)


def test_a_boundary_found_in_the_message_is_never_used():
    state = random.getstate()
    try:
        random.seed(7)
        taken = Generator._make_boundary()  # the boundary the next message would be given
        random.seed(7)
        message = Email(**_parts(body=f"--{taken}\nnot the end of a part\n")).message()
    finally:
        random.setstate(state)
    assert message.get_boundary() != taken
    assert message.as_bytes().count(f"--{message.get_boundary()}".encode()) == 3  # open, between, close

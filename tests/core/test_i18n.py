"""The Simplified Chinese catalogue is complete, compiled, and used for residents who chose it."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.accounts.factories import JINGAN, ResidentFactory

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
# A named placeholder with its conversion, such as %(name)s or %(km).1f.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-z]")


def parse_po(text: str) -> list[dict]:
    """A small reader of the .po format: one dict per entry with msgid, msgstr (or msgstr[N]),
    msgctxt and msgid_plural when present, the flags, and whether the entry is obsolete."""
    entries, entry, key = [], {"flags": set(), "obsolete": False}, None
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if line.startswith("#~"):
            entry["obsolete"] = True
            line = line[2:].strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {"flags": set(), "obsolete": False}, None
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return [e for e in parse_po((LC_MESSAGES / "django.po").read_text(encoding="utf-8")) if not e["obsolete"]]


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def test_parse_po_reads_what_makemessages_writes():
    entries = parse_po(
        '#, fuzzy\nmsgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid ""\n"a long "\n"line %(n)s"\nmsgstr "一行 %(n)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "多"\n\n#~ msgid "gone"\n#~ msgstr ""\n'
    )
    assert [e["msgid"] for e in entries] == ["", "a long line %(n)s", "one", "gone"]
    assert entries[0]["flags"] == {"fuzzy"} and entries[0]["msgstr"] == "Language: zh_Hans\n"
    assert entries[1]["flags"] == {"python-format"} and entries[1]["msgstr"] == "一行 %(n)s"
    assert entries[2]["msgid_plural"] == "many" and entries[2]["msgstr[0]"] == "多"
    assert entries[3]["obsolete"]


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    assert len(catalogue) > 100
    untranslated = [e["msgid"] for e in catalogue if e["msgid"] and not all(translations(e))]
    fuzzy = [e["msgid"] for e in catalogue if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_translations_keep_the_placeholders(catalogue):
    """A lost or misspelt %(name)s would turn a page into a 500 for Chinese readers."""
    for entry in catalogue:
        wanted = set(PLACEHOLDER.findall(entry["msgid"])) | set(PLACEHOLDER.findall(entry.get("msgid_plural", "")))
        for text in translations(entry):
            assert set(PLACEHOLDER.findall(text)) <= wanted, entry["msgid"]
            if "msgid_plural" not in entry:
                assert set(PLACEHOLDER.findall(text)) == wanted, entry["msgid"]


def test_the_compiled_catalogue_matches_the_po(catalogue):
    with (LC_MESSAGES / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in catalogue:
        if not entry["msgid"]:
            continue
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            args = (entry["msgid"], entry["msgid_plural"], 1)
            got = compiled.npgettext(context, *args) if context else compiled.ngettext(*args)
            assert got == entry["msgstr[0]"], "run `make messages`: " + entry["msgid"]
        else:
            got = compiled.pgettext(context, entry["msgid"]) if context else compiled.gettext(entry["msgid"])
            assert got == entry["msgstr"], "run `make messages`: " + entry["msgid"]


def test_django_finds_the_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Nearby") == "附近"


def test_a_resident_who_chose_chinese_gets_pages_in_chinese(db, client):
    resident = ResidentFactory(display_name="李华", language="zh-hans", home=JINGAN)
    client.force_login(resident)
    response = client.get("/", headers={"accept-language": "en"})
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "退出登录" in page
    assert "Log out" not in page
    profile = client.get("/accounts/profile/").content.decode()
    assert "我的资料" in profile and "My profile" not in profile


def test_an_english_resident_keeps_english_in_a_chinese_browser(db, client):
    resident = ResidentFactory(display_name="Li Hua", language="en", home=JINGAN)
    client.force_login(resident)
    page = client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"}).content.decode()
    assert '<html lang="en">' in page
    assert "Log out" in page


def test_notification_kinds_and_texts_read_in_chinese():
    """Their strings once lived in an app catalogue of their own that makemessages no longer
    filled: the bell spoke English to Chinese readers. One catalogue now, and this checks them."""
    from apps.notifications.kinds import TEXTS, Kind

    with translation.override("zh-hans"):
        chinese = [str(label) for label in Kind.labels] + [str(text) for text in TEXTS.values()]
    with translation.override("en"):
        english = [str(label) for label in Kind.labels] + [str(text) for text in TEXTS.values()]
    assert all(zh != en for zh, en in zip(chinese, english, strict=True)), list(zip(chinese, english, strict=True))


def test_there_is_one_catalogue():
    roots = list(Path(settings.BASE_DIR, "apps").glob("*/locale"))
    assert roots == [], "app catalogues are not filled by `make messages`; keep every string in locale/"

"""The fixed catalogue of pledges a shop may take: its trust card.

Each kind has a few numeric terms the shop chooses within limits, and a description in words built
from them. A `ShopPledge` row stores the kind and the terms as the shop took them; the row is never
edited afterwards (new terms mean a new row, see `services.pledge_take`), so a claim that points at
a pledge row id (the trust issue) always sees the promise as it stood when the buyer relied on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import DomainError


class PledgeUnknown(DomainError):
    code = "pledge_unknown"


class PledgeTermsInvalid(DomainError):
    code = "pledge_terms_invalid"


@dataclass(frozen=True)
class Term:
    """One number a shop sets in a pledge. Money is kept as a string with two decimals in JSON."""

    name: str
    label: Promise
    minimum: int | Decimal
    maximum: int | Decimal
    default: int | Decimal
    unit: Promise
    is_money: bool = False

    def clean(self, raw) -> int | str:
        field = f"terms.{self.name}"
        if isinstance(raw, bool) or raw is None or raw == "":
            raise PledgeTermsInvalid(_("%(term)s: give a number.") % {"term": self.label}, field=field)
        try:
            if self.is_money:
                value = Decimal(str(raw).strip())
                if not value.is_finite():
                    raise ValueError(raw)
                value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            else:
                value = int(str(raw).strip())
        except (InvalidOperation, ValueError):
            message = _("%(term)s: give a number.") if self.is_money else _("%(term)s: give a whole number.")
            raise PledgeTermsInvalid(message % {"term": self.label}, field=field) from None
        if not self.minimum <= value <= self.maximum:
            raise PledgeTermsInvalid(
                _("%(term)s must be between %(min)s and %(max)s.")
                % {"term": self.label, "min": self.minimum, "max": self.maximum},
                field=field,
            )
        return format(value, "f") if self.is_money else value


@dataclass(frozen=True)
class PledgeKind:
    code: str
    title: Promise
    # A lazy format string over the terms' names, for example "within %(days)s days".
    summary: Promise
    description: Promise
    terms: tuple[Term, ...]

    def clean_terms(self, raw: dict | None) -> dict:
        """Terms as stored: every term present (defaults filled in), unknown ones refused."""
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise PledgeTermsInvalid(_("The terms must be an object of named numbers."), field="terms")
        known = {t.name for t in self.terms}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise PledgeTermsInvalid(
                _("This pledge has no term named %(names)s.") % {"names": ", ".join(map(str, unknown))},
                field="terms",
            )
        return {t.name: t.clean(raw.get(t.name, t.default)) for t in self.terms}

    def default_terms(self) -> dict:
        return self.clean_terms({})

    def describe(self, terms: dict) -> str:
        """The promise in the reader's language, with the shop's numbers."""
        return str(self.description) % self._values(terms)

    def short(self, terms: dict) -> str:
        return str(self.summary) % self._values(terms)

    def _values(self, terms: dict) -> dict:
        values = {}
        for t in self.terms:
            value = terms.get(t.name, t.default)
            # Money reads better without trailing zeros: ¥50, ¥49.5.
            values[t.name] = format(Decimal(str(value)).normalize(), "f") if t.is_money else value
        return values


RETURNS = "returns"
REFUND_NO_RETURN = "refund_no_return"
FRESHNESS = "freshness"
COUNTERFEIT = "counterfeit"
DELIVERY = "delivery"

CATALOGUE: dict[str, PledgeKind] = {
    k.code: k
    for k in (
        PledgeKind(
            code=RETURNS,
            title=gettext_lazy("No-reason returns"),
            summary=gettext_lazy("%(days)s-day returns"),
            description=gettext_lazy(
                "Goods in their original condition may be returned within %(days)s days of purchase, "
                "no reason needed, for a full refund."
            ),
            terms=(Term("days", gettext_lazy("Days to return"), 1, 30, 7, gettext_lazy("days")),),
        ),
        PledgeKind(
            code=REFUND_NO_RETURN,
            title=gettext_lazy("Refund without return"),
            summary=gettext_lazy("Refund without return under ¥%(amount)s"),
            description=gettext_lazy(
                "If something you bought for less than ¥%(amount)s is wrong, you get your money back "
                "and keep it; no need to bring it back."
            ),
            terms=(
                Term(
                    "amount",
                    gettext_lazy("Largest amount (yuan)"),
                    Decimal("1"),
                    Decimal("2000"),
                    Decimal("50"),
                    gettext_lazy("yuan"),
                    is_money=True,
                ),
            ),
        ),
        PledgeKind(
            code=FRESHNESS,
            title=gettext_lazy("Freshness guarantee"),
            summary=gettext_lazy("Fresh or replaced (%(hours)s h)"),
            description=gettext_lazy(
                "Food that is not fresh is replaced or refunded if you tell the shop within %(hours)s hours "
                "of buying it."
            ),
            terms=(Term("hours", gettext_lazy("Hours to report"), 1, 72, 24, gettext_lazy("hours")),),
        ),
        PledgeKind(
            code=COUNTERFEIT,
            title=gettext_lazy("Compensation for counterfeits"),
            summary=gettext_lazy("%(multiple)s× back if fake"),
            description=gettext_lazy(
                "Anything shown to be counterfeit is compensated at %(multiple)s times the price paid."
            ),
            terms=(Term("multiple", gettext_lazy("Times the price"), 1, 10, 3, gettext_lazy("times")),),
        ),
        PledgeKind(
            code=DELIVERY,
            title=gettext_lazy("Delivery on time"),
            summary=gettext_lazy("Delivered within %(hours)s h"),
            description=gettext_lazy(
                "Orders in the neighbourhood are delivered within %(hours)s hours; if late, the delivery is free."
            ),
            terms=(Term("hours", gettext_lazy("Hours to deliver"), 1, 48, 2, gettext_lazy("hours")),),
        ),
    )
}


KIND_CHOICES = [(k.code, k.title) for k in CATALOGUE.values()]


def kind_get(code: str) -> PledgeKind:
    try:
        return CATALOGUE[code]
    except (KeyError, TypeError):
        raise PledgeUnknown(_("There is no pledge of this kind."), field="kind") from None


def kind_choices() -> list[tuple[str, Promise]]:
    return KIND_CHOICES


def describe(pledge) -> dict | None:
    """A pledge row in words: `label` for a badge, `title`, and `terms` to read behind the badge."""
    kind = CATALOGUE.get(pledge.kind)
    if kind is None:
        return None
    return {"label": kind.short(pledge.terms), "title": kind.title, "terms": kind.describe(pledge.terms)}

"""Property tests (hypothesis) for the parsers and validators that read what clients send: any input
is either accepted as a well-formed value or refused with the domain's own error, never a crash."""

import base64
import json
import math
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from apps.market.models import Stall
from apps.market.services import StallInvalid, _clean_price
from apps.nearby import geo
from apps.nearby.selectors import InvalidCursor, decode_cursor, decode_keyset, encode_cursor
from apps.shops import pledges

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


TERM_NAMES = sorted({t.name for kind in pledges.CATALOGUE.values() for t in kind.terms} | {"x", ""})


# --- Cursors ----------------------------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False), st.integers(min_value=1, max_value=2**63 - 1))
def test_a_nearby_cursor_decodes_to_what_was_encoded(distance, pk):
    assert decode_cursor(encode_cursor(distance, pk)) == (distance, pk)


@given(st.text(max_size=80) | st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_any_nearby_cursor_text_decodes_or_is_refused(text):
    try:
        distance, pk = decode_cursor(text)
    except InvalidCursor:
        return
    assert math.isfinite(distance) and distance >= 0 and isinstance(pk, int)


@given(JSONISH)
@example([1.0, float("inf")])  # int(inf) raised OverflowError, a 500
@example([1.0, 10**30])  # beyond any id: SQLite raised OverflowError in the query, a 500
@example([1.0, -(10**30)])
def test_any_json_in_a_feed_cursor_decodes_or_is_refused(value):
    cursor = base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    for decode in (decode_cursor, decode_keyset):  # nearby pages, the feed
        try:
            number, pk = decode(cursor)
        except InvalidCursor:
            continue
        assert math.isfinite(number) and isinstance(pk, int) and -(2**63) <= pk < 2**63


# --- Prices -----------------------------------------------------------------------------------------


PRICE_TEXT = st.one_of(
    st.text(alphabet="0123456789.-+eE, NaIfinty", max_size=15),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@given(PRICE_TEXT)
def test_a_price_is_a_two_decimal_amount_under_the_cap_or_refused(text):
    try:
        price = _clean_price(Stall.Kind.SALE, text)
    except StallInvalid as refused:
        assert refused.field == "price"
        return
    assert isinstance(price, Decimal) and price.is_finite()
    assert Decimal(0) <= price < Stall.MAX_PRICE
    assert price == price.quantize(Decimal("0.01"))


@given(st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2))
def test_every_valid_price_is_kept_exactly(price):
    assert _clean_price(Stall.Kind.SALE, str(price)) == price


# --- Pledge terms -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(pledges.CATALOGUE), ids=str)
@given(raw=st.dictionaries(st.sampled_from(TERM_NAMES), JSONISH, max_size=3) | JSONISH)
def test_pledge_terms_are_cleaned_within_their_limits_or_refused(kind, raw):
    pledge = pledges.kind_get(kind)
    try:
        terms = pledge.clean_terms(raw)
    except pledges.PledgeTermsInvalid as refused:
        assert refused.field.startswith("terms")
        return
    for term in pledge.terms:
        value = Decimal(terms[term.name]) if term.is_money else terms[term.name]
        assert term.minimum <= value <= term.maximum
    assert pledge.describe(terms)  # the stored terms always make a sentence


# --- Coordinates ------------------------------------------------------------------------------------


@given(st.one_of(st.floats(), st.integers(), st.booleans(), st.none(), st.text(max_size=5)), st.floats())
def test_a_point_is_inside_the_globe_or_refused(lat, lng):
    try:
        geo.validate_point(lat, lng)
    except geo.InvalidLocation:
        return
    assert not isinstance(lat, bool) and -90 <= lat <= 90 and -180 <= lng <= 180
    geo.cell_of(lat, lng, 9)  # and the grid takes it

import hashlib
import json
import math
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.services import near_me_now_origin
from apps.core.errors import DomainError
from apps.nearby import geo
from apps.nearby.selectors import InvalidCursor
from apps.shops.models import Shop

from . import card_cache, selectors, services
from .forms import FeedFilterForm, StallEditForm, StallForm
from .models import Stall
from .templatetags.market import shown_distance


def _feed_query(request):
    """Reads the feed's filters; returns (form, origin, radius, filters, near_me_now), or None for
    a form with errors."""
    user = request.user
    filters = selectors.FeedFilters()
    origin = user.point if user.is_authenticated and user.point else geo.Point(*settings.JIEFANG_DEFAULT_CENTER)
    radius = user.radius_m if user.is_authenticated else settings.JIEFANG_RADIUS_DEFAULT_M
    near_me_now = False
    if not request.GET:
        # Unfiltered, the page shows a cached rendering of the empty form (feed.html): building the
        # form, a deep copy of its fields, is left to a look that misses that cache.
        return SimpleLazyObject(FeedFilterForm), origin, radius, filters, near_me_now
    form = FeedFilterForm(request.GET)
    if not form.is_valid():
        return form, origin, radius, None, False
    d = form.cleaned_data
    filters = selectors.FeedFilters(
        kind=d.get("kind") or None,
        category=d.get("category") or None,
        free_only=d.get("free") or False,
        price_min=d.get("price_min"),
        price_max=d.get("price_max"),
        q=(d.get("q") or "").strip(),
        seller=d.get("seller") or None,
    )
    radius = d.get("radius_m") or radius
    if d.get("lat") is not None:
        origin = near_me_now_origin(viewer=user, lat=d["lat"], lng=d["lng"])
        near_me_now = True
    return form, origin, radius, filters, near_me_now


def _feed_page(request, origin, radius, filters, cards_of=None):
    try:
        return selectors.stalls_feed(
            origin=origin,
            radius_m=radius,
            viewer=request.user,
            filters=filters,
            cursor=request.GET.get("cursor"),
            limit=FEED_PAGE_SIZE,
            cards_of=cards_of,
        )
    except InvalidCursor:
        return selectors.stalls_feed(
            origin=origin, radius_m=radius, viewer=request.user, filters=filters, cards_of=cards_of
        )


def _query_without_cursor(request) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    return query.urlencode()


FEED_PAGE_SIZE = 20


def _feed_cards_html(request, origin, radius, filters) -> str:
    """The stall cards of one feed page, shared by everyone who would see the same cards: same origin
    (residents of one home cell share it), radius, filters, page, language and visibility, and
    rebuilt as soon as something changes in the areas the circle overlaps (apps/market/card_cache.py).
    Nothing personal is in them; "new" marks are added in the browser."""
    query = _query_without_cursor(request)
    key_parts = [
        round(origin.lat, 7),
        round(origin.lng, 7),
        radius,
        query,
        request.GET.get("cursor", ""),
        get_language(),
        request.user.is_authenticated,
    ]
    # v3: (reach, watched marks, html) since pages watch their reach, v2 (marks, html) before; a worker
    # of an older version, still serving during a rolling deploy, keeps reading its own keys.
    key = "feed-cards:v3:" + hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()
    html, marks = card_cache.cards_get(key, origin=origin, radius_m=radius)
    if html is None:
        language = get_language()
        page = _feed_page(
            request,
            origin,
            radius,
            filters,
            cards_of=lambda rows: card_cache.feed_cards(rows, language=language, render=_feed_card_html),
        )
        cards = [card.html(shown_distance(card)) for card in page.items]
        html = render_to_string("market/_feed_page.html", {"page": page, "cards": cards, "query": query})
        seconds = _cards_cache_seconds(page.items)
        reach_m = selectors.stalls_feed_reach_m(page, until=timezone.now() + timedelta(seconds=seconds))
        card_cache.cards_set(key, html, origin=origin, radius_m=radius, reach_m=reach_m, marks=marks, seconds=seconds)
    return mark_safe(html)  # noqa: S308 - our own template's output, escaped when rendered


def _feed_card_html(stall) -> str:
    """A stall's feed card, with the slot its distance goes in (apps/market/card_cache.py)."""
    return render_to_string("market/_stall_card.html", {"stall": stall, "distance_slot": card_cache.DISTANCE_SLOT})


def _cards_cache_seconds(stalls, now=None) -> int:
    """How long shared cards may be kept: JIEFANG_FEED_CACHE_SECONDS (the backstop; changes rebuild
    them at once), and never past the first expiry among them, so that an expired stall leaves the
    feed at once."""
    now = now or timezone.now()
    seconds = settings.JIEFANG_FEED_CACHE_SECONDS
    for stall in stalls:
        seconds = min(seconds, math.floor((stall.expires_at - now).total_seconds()))
    return max(seconds, 0)  # 0: not kept


def _new_since_count(user, radius: int, since) -> int:
    """The "new since your last visit" count, kept a minute: it moves only when stalls appear, and
    counting over the whole circle on every look would cost more than the shared cards save."""
    if since is None:
        return 0
    key = f"feed-new:{user.pk}:{radius}:{since.timestamp():.0f}"
    count = cache.get(key)
    if count is None:
        count = selectors.stalls_new_since(origin=user.point, radius_m=radius, since=since, viewer=user)
        cache.set(key, count, 60)
    return count


def feed(request):
    """The home page: the nearby feed for a resident with a home; a welcome and shops' stalls otherwise."""
    user = request.user
    if user.is_authenticated and not user.has_home:
        return render(request, "market/choose_home.html")
    form, origin, radius, filters, near_me_now = _feed_query(request)
    context = {"form": form, "radius_m": radius, "near_me_now": near_me_now, "query": _query_without_cursor(request)}
    if filters is not None:
        context["cards"] = _feed_cards_html(request, origin, radius, filters)
    if request.headers.get("HX-Request"):
        return HttpResponse(context.get("cards", ""))
    if user.is_authenticated and filters is not None and not request.GET.get("cursor"):
        since = services.resident_feed_visit(resident=user)
        context["seen_at"] = since
        context["new_since"] = _new_since_count(user, radius, since)
    return render(request, "market/feed.html", context)


def _feed_context(request):
    """The map: the same filters give the same stalls as the list."""
    form, origin, radius, filters, near_me_now = _feed_query(request)
    context = {
        "form": form,
        "radius_m": radius,
        "near_me_now": near_me_now,
        "query": _query_without_cursor(request),
        "area": request.user.home_area if request.user.is_authenticated else None,
        "page": None,
    }
    if filters is not None:
        context["page"] = _feed_page(request, origin, radius, filters)
    return context


def feed_map(request):
    context = _feed_context(request)
    if context["page"] is not None:
        context["markers"] = [_marker(stall) for stall in context["page"].items]
        context["map_origin"] = [context["page"].origin.lat, context["page"].origin.lng]
    return render(request, "market/map.html", context)


def _marker(stall: Stall) -> dict:
    marker = {"id": stall.pk, "title": stall.title, "url": f"/market/stalls/{stall.pk}/"}
    if stall.location_is_exact:
        marker["point"] = [stall.lat, stall.lng]
    else:
        cell = geo.cell_of(stall.lat, stall.lng, settings.JIEFANG_HOME_RESOLUTION)
        marker["area"] = geo.cell_boundary(cell)
    return marker


def stall_detail(request, pk: int):
    try:
        stall = selectors.stall_get_for_viewer(stall_id=pk, viewer=request.user)
    except PermissionDenied:
        return redirect_to_login(request.get_full_path())
    can_manage = request.user.is_authenticated and services.stall_can_manage(stall=stall, actor=request.user)
    return render(
        request,
        "market/stall_detail.html",
        {
            "stall": stall,
            "can_manage": can_manage,
            "shown_distance_m": selectors.stall_shown_distance_m(stall),
            "area": None
            if stall.location_is_exact
            else geo.cell_boundary(geo.cell_of(stall.lat, stall.lng, settings.JIEFANG_HOME_RESOLUTION)),
        },
    )


def _my_shops(user):
    return list(Shop.objects.filter(owner=user)) + list(user.staffed_shops.exclude(owner=user))


@login_required
def stall_create(request):
    shops = _my_shops(request.user)
    form = StallForm(request.POST or None, request.FILES or None, shops=shops)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        shop = next((s for s in shops if s.pk == d.get("shop")), None)
        try:
            stall = services.stall_publish(
                seller=request.user,
                shop=shop,
                kind=d["kind"],
                title=d["title"],
                description=d["description"],
                category=d["category"],
                price=d["price"],
                quantity=d["quantity"],
                starts_at=d["starts_at"],
                expires_at=form.expires_at(),
                photos=d["photos"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your stall is up. Neighbours nearby can see it now."))
            return redirect("market:stall_detail", pk=stall.pk)
    return render(request, "market/stall_form.html", {"form": form, "creating": True})


@login_required
def stall_edit(request, pk: int):
    stall = get_object_or_404(Stall, pk=pk)
    if not services.stall_can_manage(stall=stall, actor=request.user):
        raise PermissionDenied
    form = StallEditForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "title": stall.title,
            "description": stall.description,
            "category": stall.category,
            "price": stall.price,
            "quantity": stall.quantity,
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.stall_update(
                stall=stall,
                actor=request.user,
                title=d["title"],
                description=d["description"],
                category=d["category"],
                price=d["price"],
                quantity=d["quantity"],
            )
            if d["photos"]:
                services.stall_photos_add(stall=stall, actor=request.user, photos=d["photos"])
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("market:stall_detail", pk=stall.pk)
    return render(request, "market/stall_form.html", {"form": form, "stall": stall, "creating": False})


STATUS_ACTIONS = {
    "reserve": (services.stall_reserve, _("Marked as reserved.")),
    "reopen": (services.stall_reopen, _("Open again.")),
    "close": (services.stall_close, _("Closed.")),
    "renew": (services.stall_renew, _("Renewed: it is fresh in the feed again.")),
}


@login_required
@require_POST
def stall_status(request, pk: int, action: str):
    if action not in STATUS_ACTIONS:
        raise Http404
    stall = get_object_or_404(Stall, pk=pk)
    service, done = STATUS_ACTIONS[action]
    try:
        service(stall=stall, actor=request.user)
    except DomainError as exc:
        if exc.status_code == 403:
            raise PermissionDenied from None
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("market:stall_detail", pk=pk)


@login_required
def my_stalls(request):
    return render(request, "market/my_stalls.html", {"stalls": selectors.stalls_of_seller(seller=request.user)[:100]})

"""Shop pages: thin views over services.py and selectors.py."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import Resident
from apps.core.errors import DomainError
from apps.nearby import geo
from apps.nearby.selectors import InvalidCursor

from . import pledges, qr, selectors, services
from .categories import Category
from .forms import (
    ExceptionForm,
    HoursForm,
    PhotoForm,
    ShopForm,
    ShopRegisterForm,
    StaffForm,
    pledge_form_class,
)
from .models import Shop

SHOP_FIELDS = (
    "name",
    "category",
    "description",
    "address",
    "phone",
    "contact_note",
    "time_zone",
    "licence_number",
    "lat",
    "lng",
)


def _form_error(form, exc: DomainError, *, aliases: dict | None = None) -> None:
    field = (aliases or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _owned_shop(request, pk: int) -> Shop:
    """The shop, for its owner; anyone else is refused (403), a missing shop is 404."""
    shop = get_object_or_404(Shop, pk=pk)
    if not selectors.shop_is_owner(shop=shop, resident=request.user):
        raise PermissionDenied
    return shop


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# --- Lists ------------------------------------------------------------------------------------


def shop_list(request):
    """Shops near the resident's home (or the district's centre for visitors), and the resident's own."""
    user = request.user
    if user.is_authenticated and user.point:
        origin, radius = user.point, user.radius_m
    else:
        origin, radius = geo.Point(*settings.JIEFANG_DEFAULT_CENTER), settings.JIEFANG_RADIUS_DEFAULT_M
    category = request.GET.get("category") or None
    if category not in dict(Category.choices):
        category = None
    try:
        page = selectors.shops_nearby_page(
            origin=origin, radius_m=radius, cursor=request.GET.get("cursor"), limit=20, category=category
        )
    except InvalidCursor:
        page = selectors.shops_nearby_page(origin=origin, radius_m=radius, limit=20, category=category)
    mine = list(selectors.shops_of_resident(resident=user)) if user.is_authenticated else []
    return render(
        request,
        "shops/shop_list.html",
        {
            "page": page,
            "mine": mine,
            "radius_m": radius,
            "category": category,
            "categories": Category.choices,
        },
    )


# --- Registration and editing -----------------------------------------------------------------


@login_required
def shop_register(request):
    form = ShopRegisterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shop = services.shop_register(
                owner=request.user,
                **{f: data[f] for f in SHOP_FIELDS},
                photos=[data["photo"]] if data.get("photo") else [],
            )
        except DomainError as exc:
            _form_error(form, exc, aliases={"location": "lat", "image": "photo", "photos": "photo"})
        else:
            messages.success(
                request, _("Your shop is registered. Add its opening hours and pledges, then print its QR poster.")
            )
            return redirect("shops:manage", pk=shop.pk)
    return render(
        request,
        "shops/shop_form.html",
        {"form": form, "is_new": True, "default_center": settings.JIEFANG_DEFAULT_CENTER},
    )


@login_required
def shop_edit(request, pk: int):
    shop = _owned_shop(request, pk)
    initial = {f: getattr(shop, f) for f in SHOP_FIELDS}
    form = ShopForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.shop_update(shop=shop, by=request.user, **{f: form.cleaned_data[f] for f in SHOP_FIELDS})
        except DomainError as exc:
            _form_error(form, exc, aliases={"location": "lat"})
        else:
            messages.success(request, _("The shop's details are saved."))
            return redirect("shops:manage", pk=shop.pk)
    return render(
        request,
        "shops/shop_form.html",
        {"form": form, "shop": shop, "is_new": False, "default_center": settings.JIEFANG_DEFAULT_CENTER},
    )


@login_required
def shop_manage(request, pk: int):
    """The owner's page: every tool for the shop, and the QR downloads for the counter."""
    shop = _owned_shop(request, pk)
    shop = selectors.shop_detail(pk=shop.pk, viewer=request.user)
    return render(
        request,
        "shops/shop_manage.html",
        {
            "shop": shop,
            "public_url": qr.shop_public_url(shop, request),
            "staff": list(shop.staff.order_by("display_name")),
            "staff_form": StaffForm(),
        },
    )


@login_required
@require_POST
def shop_delete(request, pk: int):
    shop = _owned_shop(request, pk)
    if request.POST.get("confirm") != shop.name:
        messages.error(request, _("Type the shop's name exactly to remove it."))
        return redirect("shops:manage", pk=shop.pk)
    try:
        services.shop_delete(shop=shop, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("shops:manage", pk=shop.pk)
    messages.success(request, _("The shop is removed."))
    return redirect("shops:list")


@login_required
@require_POST
def shop_staff(request, pk: int):
    shop = _owned_shop(request, pk)
    form = StaffForm(request.POST)
    if request.POST.get("remove"):
        resident = get_object_or_404(Resident, pk=request.POST["remove"])
        services.shop_staff_remove(shop=shop, by=request.user, resident=resident)
        messages.success(request, _("%(name)s no longer helps at the shop.") % {"name": resident.display_name})
    elif form.is_valid():
        resident = Resident.objects.filter(username__iexact=form.cleaned_data["username"], is_active=True).first()
        if resident is None:
            messages.error(request, _("There is no neighbour with this username."))
        else:
            try:
                services.shop_staff_add(shop=shop, by=request.user, resident=resident)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                text = _("%(name)s may now post stalls for the shop.") % {"name": resident.display_name}
                messages.success(request, text)
    return redirect("shops:manage", pk=shop.pk)


# --- Hours ------------------------------------------------------------------------------------


@login_required
def shop_hours(request, pk: int):
    shop = _owned_shop(request, pk)
    week_form = HoursForm(shop=shop)
    exception_form = ExceptionForm(initial={"date": services.shop_today(shop) + dt.timedelta(days=1)})
    if request.method == "POST" and request.POST.get("form") == "week":
        week_form = HoursForm(request.POST, shop=shop)
        if week_form.is_valid():
            try:
                services.shop_hours_set(shop=shop, by=request.user, spans=week_form.cleaned_data["spans"])
            except services.HoursInvalid as exc:
                field = f"day_{exc.weekday}" if exc.weekday is not None else None
                week_form.add_error(field, exc.message)
            else:
                messages.success(request, _("The opening hours are saved."))
                return redirect("shops:hours", pk=shop.pk)
    elif request.method == "POST" and request.POST.get("form") == "exception":
        exception_form = ExceptionForm(request.POST)
        if exception_form.is_valid():
            try:
                services.shop_exception_set(shop=shop, by=request.user, **exception_form.cleaned_data)
            except DomainError as exc:
                _form_error(exception_form, exc)
            else:
                messages.success(request, _("The exception is saved."))
                return redirect("shops:hours", pk=shop.pk)
    exceptions = shop.exceptions.filter(date__gte=services.shop_today(shop))
    return render(
        request,
        "shops/hours.html",
        {"shop": shop, "week_form": week_form, "exception_form": exception_form, "exceptions": exceptions},
    )


@login_required
@require_POST
def shop_exception_remove(request, pk: int, date: str):
    shop = _owned_shop(request, pk)
    try:
        day = dt.date.fromisoformat(date)
        services.shop_exception_remove(shop=shop, by=request.user, date=day)
    except ValueError:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The exception is removed."))
    return redirect("shops:hours", pk=shop.pk)


# --- Pledges ----------------------------------------------------------------------------------


@login_required
def shop_pledges(request, pk: int):
    shop = _owned_shop(request, pk)
    active = {p.kind: p for p in shop.pledges.filter(is_active=True)}
    posted = request.POST.get("kind") if request.method == "POST" else None
    entries = []
    for kind in pledges.CATALOGUE.values():
        form_class = pledge_form_class(kind)
        current = active.get(kind.code)
        if posted == kind.code:
            form = form_class(request.POST, prefix=kind.code)
            if form.is_valid():
                terms = {t.name: form.cleaned_data[t.name] for t in kind.terms}
                try:
                    services.pledge_take(shop=shop, by=request.user, kind=kind.code, terms=terms)
                except DomainError as exc:
                    _form_error(form, exc, aliases={f"terms.{t.name}": t.name for t in kind.terms})
                else:
                    messages.success(request, _("Pledge taken: %(title)s.") % {"title": kind.title})
                    return redirect("shops:pledges", pk=shop.pk)
        else:
            form = form_class(initial=current.terms if current else None, prefix=kind.code)
        entries.append(
            {
                "kind": kind,
                "form": form,
                "current": current,
                "description": kind.describe(current.terms if current else kind.default_terms()),
            }
        )
    if posted and posted not in pledges.CATALOGUE:
        messages.error(request, _("There is no pledge of this kind."))
    return render(request, "shops/pledges.html", {"shop": shop, "entries": entries})


@login_required
@require_POST
def shop_pledge_withdraw(request, pk: int, pledge_id: int):
    shop = _owned_shop(request, pk)
    pledge = get_object_or_404(shop.pledges, pk=pledge_id)
    services.pledge_withdraw(pledge=pledge, by=request.user)
    messages.success(request, _("The pledge is withdrawn. Claims made while it held still count."))
    return redirect("shops:pledges", pk=shop.pk)


# --- Photos -----------------------------------------------------------------------------------


@login_required
def shop_photos(request, pk: int):
    shop = _owned_shop(request, pk)
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.shop_photo_add(shop=shop, by=request.user, upload=form.cleaned_data["image"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("The photo is added."))
            return redirect("shops:photos", pk=shop.pk)
    return render(
        request,
        "shops/photos.html",
        {"shop": shop, "form": form, "photos": shop.photos.all(), "max_photos": services.MAX_PHOTOS},
    )


@login_required
@require_POST
def shop_photo_remove(request, pk: int, photo_id: int):
    shop = _owned_shop(request, pk)
    photo = get_object_or_404(shop.photos, pk=photo_id)
    services.shop_photo_remove(photo=photo, by=request.user)
    messages.success(request, _("The photo is removed."))
    return redirect("shops:photos", pk=shop.pk)


# --- The public page and following ------------------------------------------------------------


def shop_detail(request, pk: int):
    """The shop's public page, for everyone: a QR scan lands a visitor here with an invitation to follow."""
    try:
        shop = selectors.shop_detail(pk=pk, viewer=request.user)
    except Shop.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "shops/shop_detail.html",
        {
            "shop": shop,
            "state": selectors.shop_open_state(shop),
            "week": selectors.shop_week(shop),
            "coming": selectors.shop_exceptions_coming(shop),
            "badges": selectors.pledge_badges(shop=shop),
            "stalls": selectors.shop_stalls_current(shop=shop),
            "is_owner": selectors.shop_is_owner(shop=shop, resident=request.user),
            "via_qr": request.GET.get("qr") == "1",
            "today": selectors.shop_local_now(shop).weekday(),
        },
    )


@require_POST
def shop_follow(request, pk: int):
    """Follow or unfollow (`action`); a visitor is sent to log in first. htmx gets the button back."""
    shop = get_object_or_404(Shop, pk=pk)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={reverse('shops:detail', args=[shop.pk])}")
    error = None
    try:
        if request.POST.get("action") == "unfollow":
            services.shop_unfollow(shop=shop, resident=request.user)
        else:
            services.shop_follow(shop=shop, resident=request.user)
    except DomainError as exc:
        error = exc.message
    if request.headers.get("HX-Request"):
        shop = selectors.shop_detail(pk=shop.pk, viewer=request.user)
        return render(request, "shops/_follow.html", {"shop": shop, "follow_error": error})
    if error:
        messages.error(request, error)
    return redirect(_back(request, reverse("shops:detail", args=[shop.pk])))


# --- QR codes and posters ---------------------------------------------------------------------


def _download(content: bytes, content_type: str, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def shop_qr(request, pk: int, kind: str):
    """The plain code (qr.png, qr.svg) and the A4 poster (poster.pdf, poster.png), for the owner."""
    shop = _owned_shop(request, pk)
    shop = selectors.shop_detail(pk=shop.pk)
    url = qr.shop_public_url(shop, request)
    name = f"jiefang-shop-{shop.pk}"
    if kind == "qr.png":
        return _download(qr.qr_png(url), "image/png", f"{name}-qr.png")
    if kind == "qr.svg":
        return _download(qr.qr_svg(url, title=shop.name), "image/svg+xml", f"{name}-qr.svg")
    if kind == "poster.pdf":
        return _download(qr.poster_pdf(shop, url), "application/pdf", f"{name}-poster.pdf")
    if kind == "poster.png":
        return _download(qr.poster_png(shop, url), "image/png", f"{name}-poster.png")
    raise Http404

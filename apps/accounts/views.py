from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from apps.core.errors import DomainError
from apps.core.formatting import distance_text
from apps.nearby import geo

from . import services
from .forms import EraseForm, HomeForm, ProfileForm, SignUpForm
from .models import Resident


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _safe_next(request) -> str | None:
    """Where to go once done (a shop page reached by QR, say), if it is on this site."""
    target = request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resident = services.resident_sign_up(
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                display_name=data["display_name"],
                language=data["language"],
            )
        except DomainError as exc:
            if exc.field == "password":
                exc.field = "password1"
            _form_error(form, exc)
        else:
            login(request, resident, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome, neighbour! Now choose your home area."))
            target = _safe_next(request)
            return redirect(reverse("accounts:home") + (f"?{urlencode({'next': target})}" if target else ""))
    return render(request, "accounts/sign_up.html", {"form": form})


@login_required
def profile_edit(request):
    resident = request.user
    form = ProfileForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "display_name": resident.display_name,
            "bio": resident.bio,
            "language": resident.language,
            "radius_m": resident.radius_m,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data.get("avatar"):
                services.resident_avatar_set(resident=resident, upload=data["avatar"])
            services.resident_profile_update(
                resident=resident,
                display_name=data["display_name"],
                bio=data["bio"],
                language=data["language"],
                radius_m=data["radius_m"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Your profile is saved."))
            response = redirect("accounts:profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                resident.language,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
def home_edit(request):
    form = HomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.resident_home_set(resident=request.user, lat=form.cleaned_data["lat"], lng=form.cleaned_data["lng"])
        messages.success(request, _("Your home area is saved. Only this area is kept, never your exact point."))
        return redirect(_safe_next(request) or "home")
    return render(request, "accounts/home_edit.html", {"form": form, "area": request.user.home_area})


@login_required  # as the API's: residents (unlike shops) show themselves to signed-in neighbours only
def resident_detail(request, pk: int):
    resident = get_object_or_404(Resident, pk=pk, is_active=True)
    distance = None
    me = request.user
    if me.is_authenticated and me.point and resident.point and me.pk != resident.pk:
        distance = geo.coarse_distance_m(geo.distance_m(me.point, resident.point))
    context = {"resident": resident, "coarse_distance": distance_text(distance) if distance is not None else None}
    return render(request, "accounts/resident_detail.html", context)


@require_POST
def language_switch(request):
    """Django's set_language, and the choice is kept on the signed-in resident's profile too."""
    language = request.POST.get("language")
    if request.user.is_authenticated and language in Resident.Language.values:
        services.resident_profile_update(resident=request.user, language=language)
    if not request.POST.get("next"):
        request.POST = request.POST.copy()
        request.POST["next"] = request.headers.get("Referer") or reverse("home")
    return set_language(request)


# --- Personal data -------------------------------------------------------------------------------------


@login_required
def my_data(request):
    """Download everything the site holds about you, or delete your account."""
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.resident_erase(resident=request.user, password=form.cleaned_data["password"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            logout(request)
            messages.success(request, _("Your account is deleted. Goodbye, neighbour."))
            return redirect("home")
    return render(request, "accounts/my_data.html", {"form": form})


@login_required
def my_data_json(request):
    data = services.resident_export(resident=request.user)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="jiefang-{request.user.pk}.json"'
    return response


def _as_tree(value):
    """The export as nodes a template can walk: maps, lists and plain values."""
    if isinstance(value, dict):
        return {"kind": "map", "items": [(key, _as_tree(v)) for key, v in value.items()]}
    if isinstance(value, list | tuple):
        return {"kind": "list", "items": [_as_tree(v) for v in value]}
    return {"kind": "value", "value": value}


@login_required
def my_data_html(request):
    tree = _as_tree(services.resident_export(resident=request.user))
    return render(request, "accounts/my_data_export.html", {"tree": tree})

from django.utils import translation


class ResidentLanguageMiddleware:
    """A signed-in resident's chosen language wins over the browser's, on every page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            # Only for this request: the thread serves other people (and tasks) next.
            with translation.override(user.language):
                request.LANGUAGE_CODE = translation.get_language()
                response = self.get_response(request)
                response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
                return response
        return self.get_response(request)

"""The API's documentation pages, under the site's Content-Security-Policy.

Their inline script and style carry the response's nonce (templates/api/). Beyond that, the bundled
Swagger UI and Redoc need a little more than the site's pages, granted here to these views alone:
- both draw their icons and logos as data: images (the site policy allows data: images already);
- Redoc's styled-components inject <style> elements without a nonce, and it parses the schema in
  a web worker started from a blob: URL.
"""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_replace, csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class ApiDocsView(SpectacularSwaggerView):
    template_name = "api/swagger_ui.html"


# A nonce in style-src makes browsers ignore 'unsafe-inline', so Redoc's style-src is replaced whole.
@method_decorator(csp_replace({"style-src": ["'self'", UNSAFE_INLINE]}), name="get")
@method_decorator(csp_update({"worker-src": ["'self'", "blob:"]}), name="get")
class ApiRedocView(SpectacularRedocView):
    template_name = "api/redoc.html"

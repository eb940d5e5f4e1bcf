// Every htmx request carries the CSRF token, so htmx forms and buttons pass Django's CSRF check.
document.addEventListener("htmx:configRequest", function (event) {
  event.detail.headers["X-CSRFToken"] = document.body.dataset.csrfToken;
});

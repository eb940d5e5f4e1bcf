class DomainError(Exception):
    """A rule of the neighbourhood was broken. Interfaces turn it into a form error or a 4xx.

    `field` names the input at fault when there is one, so forms and the API can point at it.
    """

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status_code = 403
    code = "not_allowed"

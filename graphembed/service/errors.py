"""The service's errors: each has an HTTP ``status`` and a one-line ``message`` (``param`` too for
422), which the HTTP layer turns into ``{"error": message}`` (+ ``"param"``)."""


def _one_line(text, limit=500):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ServiceError(Exception):
    """An error a request gets back: ``status`` (HTTP), ``message`` (one line), ``param``."""

    status = 500

    def __init__(self, message, *, param=None, status=None):
        self.message = _one_line(message)
        self.param = param
        if status is not None:
            self.status = status
        super().__init__(self.message)


class BadRequest(ServiceError):
    status = 400


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class UnsupportedMedia(ServiceError):
    status = 415


class Invalid(ServiceError):
    """A job spec or parameter the service does not accept; ``param`` names the parameter."""

    status = 422


class Refused(ServiceError):
    """Admission control: the job's memory estimate exceeds the whole budget (in the message)."""

    status = 422


__all__ = ["BadRequest", "Conflict", "Forbidden", "Invalid", "NotFound", "Refused", "ServiceError",
           "TooLarge", "UnsupportedMedia"]

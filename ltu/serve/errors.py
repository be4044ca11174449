"""Errors an API client can cause, as OpenAI's error JSON with the matching HTTP status.

A body looks like ``{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}``,
which the ``openai`` client turns into ``BadRequestError``, ``RateLimitError`` and so on.
"""

from __future__ import annotations

from typing import Any

from ltu.errors import AudioTooLargeError, LTUError

BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, TOO_LARGE, TOO_MANY, SERVER_ERROR = 400, 401, 404, 413, 429, 500
_TYPES = {BAD_REQUEST: "invalid_request_error", UNAUTHORIZED: "authentication_error", NOT_FOUND: "not_found_error",
          TOO_LARGE: "invalid_request_error", TOO_MANY: "rate_limit_error", SERVER_ERROR: "server_error"}
INTERNAL_MESSAGE = "The server failed while answering; the failure is in its log. Try again, or report it."


class APIError(Exception):
    """A request the server refuses or could not answer, with the status and sentence to send back."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """OpenAI's error JSON."""
        return {"error": {"message": self.message, "type": _TYPES.get(self.status, "invalid_request_error"),
                          "param": self.param, "code": self.code}}


def from_ltu_error(err: LTUError, param: str | None = None) -> APIError:
    """The API error for a problem in the request's content (audio that will not decode, bad settings ...)."""
    if isinstance(err, AudioTooLargeError):
        return APIError(TOO_LARGE, str(err), param, "audio_too_large")
    return APIError(BAD_REQUEST, str(err), param)

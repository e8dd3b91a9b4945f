"""DR's error envelope, raised from anywhere in the sandbox as ``ApiError``."""

from __future__ import annotations

from typing import Any

_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    500: "internal_server_error",
}


class ApiError(Exception):
    """An error response: ``{"type", "errors": [{"code", "parameter"?, "message"}]}``.

    ``commit=True`` keeps the state changes made before the error (a declined order still
    fails its payment session); by default everything written in the request is rolled back.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        parameter: str | None = None,
        *,
        commit: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter
        self.commit = commit

    def body(self) -> dict[str, Any]:
        """The JSON envelope."""
        error: dict[str, Any] = {"code": self.code}
        if self.parameter is not None:
            error["parameter"] = self.parameter
        error["message"] = self.message
        return {"type": _TYPES.get(self.status, "bad_request"), "errors": [error]}


def missing(parameter: str) -> ApiError:
    """400 ``missing_parameter``."""
    return ApiError(400, "missing_parameter", f"'{parameter}' is required.", parameter)


def invalid(parameter: str, message: str) -> ApiError:
    """400 ``invalid_parameter``."""
    return ApiError(400, "invalid_parameter", message, parameter)


def not_found(parameter: str, value: str, what: str) -> ApiError:
    """404 ``not_found`` for an unknown id."""
    return ApiError(404, "not_found", f"{what} '{value}' not found.", parameter)


def conflict(code: str, message: str, parameter: str | None = None) -> ApiError:
    """409 ``conflict``."""
    return ApiError(409, code, message, parameter)

"""LinkedIn-shaped error responses, raised as exceptions by the sandbox's handlers."""

from __future__ import annotations

import json
from typing import Any

VALIDATION_ERROR_TYPE = "com.linkedin.common.error.BadRequest"


class ApiError(Exception):
    """An HTTP error with the exact JSON body LinkedIn would send."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message", str(status)))
        self.status = status
        self.body = body
        self.headers = headers or {}


def restli_error(status: int, message: str, service_error_code: int | None = None) -> ApiError:
    """Build the legacy Rest.li body `{"message","serviceErrorCode","status"}`."""
    body: dict[str, Any] = {"message": message, "status": status}
    if service_error_code is not None:
        body["serviceErrorCode"] = service_error_code
    return ApiError(status, body)


def coded_error(
    status: int, code: str, message: str, service_error_code: int | None = None
) -> ApiError:
    """Build the gateway body that adds a machine-readable `code`."""
    body: dict[str, Any] = {"status": status}
    if service_error_code is not None:
        body["serviceErrorCode"] = service_error_code
    body["code"] = code
    body["message"] = message
    return ApiError(status, body)


def bad_request(message: str) -> ApiError:
    return restli_error(400, message)


def not_found(message: str = "Not Found") -> ApiError:
    return coded_error(404, "NOT_FOUND", message)


def access_denied(resource: str, method: str, version: str) -> ApiError:
    """Build the 403 sent when a scope, role or ownership check fails."""
    return coded_error(
        403,
        "ACCESS_DENIED",
        f"Not enough permissions to access: {resource}.{method}.{version}",
        service_error_code=100,
    )


def schema_error(problems: list[tuple[str, str]]) -> ApiError:
    """Build the 422 body of Rest.li schema validation, one `ERROR :: path :: text` per problem."""
    message = "\n".join(f"ERROR :: {path} :: {text}" for path, text in problems)
    return ApiError(422, {"message": message, "status": 422})


def json_literal(value: Any) -> str:
    """Render a value the way Rest.li quotes it in validation messages."""
    return json.dumps(value, separators=(",", ":"))


class InputError:
    """One failed business rule of an ads write: its code, field path and description."""

    def __init__(self, code: str, field_path: str, description: str) -> None:
        self.code = code
        self.field_path = field_path
        self.description = description

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "input": {"inputPath": {"fieldPath": self.field_path}},
        }


def validation_error(errors: list[InputError]) -> ApiError:
    """Build the ads validation body, with code MULTIPLE_VALIDATIONS_FAILED for several errors."""
    if len(errors) == 1:
        code = errors[0].code
        message = errors[0].description
    else:
        code = "MULTIPLE_VALIDATIONS_FAILED"
        message = "Multiple validations failed: " + " | ".join(e.description for e in errors)
    body = {
        "status": 400,
        "code": code,
        "message": message,
        "errorDetailType": VALIDATION_ERROR_TYPE,
        "errorDetails": {"inputErrors": [error.to_json() for error in errors]},
    }
    return ApiError(400, body)

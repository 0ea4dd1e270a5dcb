"""Validate real responses against the served OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from numberplate.web.openapi import document

DOC = document()


def check(response: TestResponse, path: str, method: str) -> Any:
    """Assert ``response`` is documented for ``method path`` with its status, and its JSON body fits the schema."""
    operation = DOC["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered {status}, which is not documented"
    content = operation["responses"][status].get("content", {})
    if "application/json" not in content:
        return None
    body = response.get_json()
    schema = {**DOC, **content["application/json"]["schema"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return body

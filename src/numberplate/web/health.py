"""Liveness endpoint for load balancers and monitors."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    """``{"status": "ok"}`` while the process serves requests (it never loads the models)."""
    return jsonify(status="ok")

"""Prometheus metrics of the API process, served at /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response

REQUESTS = Counter(
    "rendersync_api_requests", "API requests by method and status", ["method", "code"]
)
REQUEST_SECONDS = Histogram("rendersync_api_request_seconds", "API request duration", ["method"])


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""A page that reads 20 declared settings, to count the queries of a request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines

TWENTY = {f"SETTING_{n:02}": (n, f"Setting number {n}") for n in range(20)}

TEMPLATE = "".join(f"{{{{ config.{name} }}}} " for name in TWENTY)


def twenty_settings(request: HttpRequest) -> HttpResponse:
    """Render a template that reads each of TWENTY through the context processor."""
    template = engines["django"].from_string(TEMPLATE)
    return HttpResponse(template.render({}, request))

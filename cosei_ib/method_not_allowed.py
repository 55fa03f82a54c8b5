"""A page in Japanese for a request with the wrong method (405).

``require_http_methods`` answers with an empty ``HttpResponseNotAllowed``: a customer who
opens a POST-only address (a bookmarked 取消 or 削除 button's target) saw a blank page."""

from __future__ import annotations

from django.template.loader import render_to_string


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            if request.method != "HEAD":
                response.content = render_to_string("405.html", request=request).encode()
            response["Content-Type"] = "text/html; charset=utf-8"
        return response

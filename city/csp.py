"""Content-Security-Policy on City's HTML pages (django-csp builds and sends the header).

Every page City serves (the admin, the browsable API and its sign-in page, Swagger UI, the
dashboard) loads its scripts from City's own origin and runs no inline script, so the
policy (CONTENT_SECURITY_POLICY in the settings) allows scripts from 'self' alone: a
script injected into a page does not run. JSON answers and files are no pages: they get
no policy here (a download sets its own, `default-src 'none'; sandbox`), and the hot
routes' answers stay the same bytes as Django's.
"""

from csp.middleware import CSPMiddleware


class HtmlCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, for HTML responses only."""

    def process_response(self, request, response):
        if response.get("Content-Type", "").startswith("text/html"):
            return super().process_response(request, response)
        return response

"""The browsable API as a person uses it: forms only where they help.

Two changes to DRF's renderer:
- After a successful POST, DRF builds the next form from the answer's serializer (after
  "submit", the application again; after signing up, the new user). The next POST takes
  what the view takes, so its form is built afresh. (A refused POST answers in the error
  contract, not with a serializer, so nothing of the person's input is lost by this.)
- A view may say which forms it offers on an object (`offers_form(request, method, obj)`):
  someone who may read an object but not change or delete it sees no form for that.
"""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def get_rendered_html_form(self, data, view, method, request):
        if request.method == method == "POST":
            data = None
        return super().get_rendered_html_form(data, view, method, request)

    def show_form_for_method(self, view, method, request, obj):
        if not super().show_form_for_method(view, method, request, obj):
            return False
        offers_form = getattr(view, "offers_form", None)
        return obj is None or offers_form is None or offers_form(request, method, obj)

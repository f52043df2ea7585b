"""How City's OpenAPI schema names and groups its operations (REST_FRAMEWORK's
DEFAULT_SCHEMA_CLASS).

Each operation is tagged with the service that serves its path (`/api/<service>/`, from the
service registry); everything else — health, the city's status, auth, the schema — is the
platform's. Swagger UI shows one section per tag, for the tags the deployment serves.

Each operation has a summary: `extend_schema(summary=...)` when given, else the first line
of its handler's docstring (the view method, or the viewset's action), else a sentence made
from the action and the model ("List leases", "Create a unit"). An operation with none of
these is a schema warning, which `manage.py spectacular --fail-on-warn` (and the tests)
refuse.

Each operation also declares the errors it can answer, all in the contract's shape
(`city.errors.ErrorSerializer`), so that a client (and schemathesis, in the tests) finds
every answer in the schema: 400 when it takes a body or query parameters (other than a
page's), 401 when it reads credentials, 403 when a signed-in caller may still be refused (a
write: the services decide who may, and a session's CSRF check; a view allowing only some
users), 404 when it names an object (a path parameter, a view of one object) or a page, 413
and 415 when it takes a body, 429 where it is throttled (by the view, or at the edge's
per-client rate for anonymous callers). A status the view declares itself
(`extend_schema(responses=...)`) is left as it is.
"""

import inspect

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc, get_view_model
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions

from city.errors import ErrorSerializer
from city.services import SERVICES

PLATFORM_TAG = "platform"

# A viewset's standard actions, as sentences about its model.
_SUMMARIES = {
    "list": "List {plural}",
    "retrieve": "{A}",
    "create": "Create {a}",
    "update": "Replace {a}",
    "partial_update": "Change {a}",
    "destroy": "Delete {a}",
}
# A plain generic view (ListAPIView, ...) by its HTTP method.
_METHOD_ACTIONS = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "partial_update",
    "DELETE": "destroy",
}
# Words starting with a vowel letter and a consonant sound ("a unit"), and the reverse.
_SOUNDS_CONSONANT = ("uni", "use", "usu", "uti", "ure", "eu", "one", "once")
_SOUNDS_VOWEL = ("hour", "honest", "honou", "heir")

# The errors an operation may answer besides those it declares, and what each means.
ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: `details` names each problem.",
    "401": "No credentials, or wrong ones.",
    "403": "Signed in, but not allowed to do this.",
    "404": "Nothing that you may see is there.",
    "413": "The body is larger than City accepts.",
    "415": "A body of a type this operation does not take.",
    "429": "Too many requests: retry after `details.retry_after` seconds.",
}
# Permissions that let every signed-in caller through: with only these, a read is never 403.
_LETS_SIGNED_IN_THROUGH = (
    permissions.AllowAny,
    permissions.IsAuthenticated,
    permissions.IsAuthenticatedOrReadOnly,
)


class CitySchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in self._error_statuses(operation):
            if status not in responses:
                described = OpenApiResponse(ErrorSerializer, ERROR_DESCRIPTIONS[status])
                responses[status] = self._get_response_for_code(described, status)
        return operation

    def get_tags(self) -> list[str]:
        for service in SERVICES.values():
            if self.path.startswith(f"/{service.url_prefix}"):
                return [service.name]
        return [PLATFORM_TAG]

    def get_summary(self) -> str | None:
        summary = _first_line(self._handler_doc()) or self._summary_from_model()
        if summary is None:
            warn(
                f"{self.method} {self.path} has no summary: give its handler a docstring or "
                "extend_schema(summary=...)"
            )
        return summary

    def get_description(self) -> str:
        """The handler's docstring without the line the summary shows; else the view's."""
        handler_doc = self._handler_doc()
        if handler_doc and self.get_summary() == _first_line(handler_doc):
            _, _, rest = handler_doc.partition("\n")
            if rest and not rest.startswith("\n"):
                return handler_doc  # the first sentence goes on: keep it whole
            return rest.strip() or get_doc(type(self.view))
        return super().get_description()

    # --- which errors an operation may answer --------------------------------------------

    def _error_statuses(self, operation: dict) -> list[str]:
        security = operation.get("security", [])
        reads_credentials = any(requirement for requirement in security)
        anonymous = {} in security
        takes_body = "requestBody" in operation
        parameters = operation.get("parameters", [])
        paged = self._is_list_view() and self.method == "GET" and self._get_paginator()
        pages = {parameter["name"] for parameter in self._get_pagination_parameters()}
        filtered = any(  # a page out of range is 404, a page size is clamped: neither is 400
            parameter["in"] == "query" and parameter["name"] not in pages
            for parameter in parameters
        )
        in_path = any(parameter["in"] == "path" for parameter in parameters)
        writes = self.method not in permissions.SAFE_METHODS
        only_some = any(
            not isinstance(permission, _LETS_SIGNED_IN_THROUGH)
            for permission in self.view.get_permissions()
        )
        of_one_object = in_path or (
            self.method == "GET" and not self._is_list_view() and self._serves_one_object()
        )
        statuses = {
            "400": takes_body or filtered,
            "401": reads_credentials,
            "403": reads_credentials and (writes or only_some),
            "404": of_one_object or bool(paged),
            "413": takes_body,
            "415": takes_body,
            "429": bool(self.view.get_throttles()) or anonymous,
        }
        return [status for status, applies in statuses.items() if applies]

    def _serves_one_object(self) -> bool:
        """A view of one object found by its lookup (`get_object`), as a retrieve is."""
        return getattr(self.view, "action", None) == "retrieve" or (
            hasattr(self.view, "get_object") and self._action() == "retrieve"
        )

    # --- where summaries come from ----------------------------------------------------

    def _action(self) -> str:
        """The viewset's action, or what a generic view's method does."""
        action = getattr(self.view, "action", None)
        if action:
            return action
        if self.method == "GET":
            return "list" if self._is_list_view() else "retrieve"
        return _METHOD_ACTIONS.get(self.method, self.method.lower())

    def _handler_doc(self) -> str:
        """The docstring of the handler this view defines (not one of DRF's)."""
        name = getattr(self.view, "action", None) or self.method.lower()
        for cls in _own_classes(type(self.view)):
            handler = cls.__dict__.get(name)
            if handler is not None:
                return _cleaned(getattr(handler, "__doc__", None))
        return ""

    def _summary_from_model(self) -> str | None:
        model = get_view_model(self.view, emit_warnings=False)
        if model is None:
            return None
        noun = str(model._meta.verbose_name)
        plural = str(model._meta.verbose_name_plural)
        action = self._action()
        if action in _SUMMARIES:
            a = f"{article(noun)} {noun}"
            return _SUMMARIES[action].format(a=a, A=a[:1].upper() + a[1:], plural=plural)
        verb, *rest = action.split("_")
        detail = getattr(self.view, "detail", None)  # a viewset's action says
        if detail is None:
            detail = "{" in self.path
        if self.method == "GET":
            if detail:  # "The charges of a lease"
                return f"The {' '.join([verb, *rest])} of {article(noun)} {noun}"
            return " ".join([verb, *rest, plural]).capitalize()  # "Available units"
        subject = f"{article(noun)} {noun}" if detail else plural
        return " ".join([verb.capitalize(), subject, *rest])  # "Send a lease for signature"


def article(noun: str) -> str:
    """'a' or 'an', by how the noun sounds: 'a unit', 'an application', 'an hour'."""
    word = noun.lower()
    if word.startswith(_SOUNDS_VOWEL):
        return "an"
    if word[:1] in "aeiou" and not word.startswith(_SOUNDS_CONSONANT):
        return "an"
    return "a"


def _own_classes(view_class: type) -> tuple[type, ...]:
    """The view's classes before the first of DRF's, whose docstrings describe DRF (as
    drf-spectacular reads descriptions)."""
    libraries = spectacular_settings.GET_LIB_DOC_EXCLUDES()
    mro = view_class.__mro__
    return mro[: min((mro.index(cls) for cls in libraries if cls in mro), default=len(mro))]


def _cleaned(doc: str | None) -> str:
    if not doc or spectacular_settings.DISABLE_DOCSTRING_DESCRIPTIONS:
        return ""
    return inspect.cleandoc(doc).strip()


def _first_line(doc: str) -> str | None:
    return _without_period(doc.partition("\n")[0].strip()) or None


def _without_period(line: str) -> str:
    return line[:-1] if line.endswith(".") and not line.endswith("..") else line


def drop_tags_without_operations(result, generator, request, public):
    """A postprocessing hook: a deployment of one service lists that service's tag and the
    platform's, not the services it does not serve (Swagger UI would show them empty)."""
    used = {
        tag
        for methods in result["paths"].values()
        for operation in methods.values()
        for tag in operation.get("tags", [])
    }
    if "tags" in result:
        result["tags"] = [tag for tag in result["tags"] if tag["name"] in used]
    return result

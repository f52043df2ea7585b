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
"""

import inspect

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc, get_view_model
from drf_spectacular.settings import spectacular_settings

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


class CitySchema(AutoSchema):
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

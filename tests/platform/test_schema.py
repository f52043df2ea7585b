import pytest
from django import urls
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import TextChoices
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.documents.models import Document
from apps.leasing.models import Application, Lease
from city.schema import PLATFORM_TAG
from city.schema import article as schema_article
from city.services import SERVICES
from tests import factories, servers

PROPERTIES, UNITS, LEASES = (
    "/api/leasing/properties/",
    "/api/leasing/units/",
    "/api/leasing/leases/",
)


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]


@pytest.mark.parametrize(
    ("enum", "choices"),
    [
        ("DocumentStatusEnum", Document.Status),
        ("ApplicationStatusEnum", Application.Status),
        ("LeaseStatusEnum", Lease.Status),
    ],
)
def test_schema_enum_names_are_given_for_the_models_choices(enum, choices: type[TextChoices]):
    written_out = settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"][enum]
    assert [tuple(choice) for choice in written_out] == choices.choices


def test_the_schema_documents_every_service(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/greeter/greet", "/api/documents/", "/api/leasing/units/available/"} <= set(
        schema["paths"]
    )
    assert {"DocumentStatusEnum", "LeaseStatusEnum"} <= set(schema["components"]["schemas"])


# --- how Swagger UI reads it: tags, summaries, examples, uploads ---------------------------

PATHS = {"greeter": "/api/greeter/", "documents": "/api/documents/", "leasing": "/api/leasing/"}
EXAMPLES = [  # (method, path): the main request bodies, each with an example
    ("post", "/api/greeter/newcomers/"),
    ("post", "/api/leasing/properties/"),
    ("post", "/api/leasing/units/"),
    ("post", "/api/leasing/applications/"),
    ("post", "/api/leasing/leases/"),
    ("post", "/api/auth/token/"),
]


@pytest.fixture(scope="module")
def schema() -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def request_component(schema: dict, method: str, path: str, media_type: str) -> tuple[dict, dict]:
    """The request body's content for this media type, and the component it refers to."""
    content = schema["paths"][path][method]["requestBody"]["content"][media_type]
    name = content["schema"]["$ref"].removeprefix("#/components/schemas/")
    return content, schema["components"]["schemas"][name]


def test_the_schema_is_valid_and_made_without_a_warning(tmp_path):
    """As CI would run it: a warning (an operation without a summary, a field whose type
    is guessed) fails, and so does a schema that OpenAPI 3 refuses."""
    out = tmp_path / "schema.yaml"
    command = [str(servers.BIN / "python"), "manage.py", "spectacular"]
    command += ["--validate", "--fail-on-warn", "--file", str(out)]
    result = servers.run_checked(
        command, env=servers.subprocess_env(DJANGO_SETTINGS_MODULE="city.settings.test")
    )
    assert "Warning" not in result.stderr
    assert out.read_text().startswith("openapi: 3.")


def test_the_tags_are_the_services_then_the_platform_each_described(schema):
    assert [tag["name"] for tag in schema["tags"]] == [*SERVICES, PLATFORM_TAG]
    assert all(tag["description"].endswith(".") for tag in schema["tags"])


def test_every_operation_has_one_known_tag_and_a_summary(schema):
    known = {tag["name"] for tag in schema["tags"]}
    for method, path, operation in operations(schema):
        assert len(operation["tags"]) == 1, (method, path)
        assert operation["tags"][0] in known, (method, path)
        assert operation.get("summary", "").strip(), f"{method} {path} has no summary"


def test_a_service_operations_carry_its_tag_and_the_rest_the_platform(schema):
    tagged: dict[str, set[str]] = {}
    for _, path, operation in operations(schema):
        tagged.setdefault(operation["tags"][0], set()).add(path)
    for service, prefix in PATHS.items():
        assert tagged[service], f"{service} has no operations"
        assert all(path.startswith(prefix) for path in tagged[service])
    assert {"/healthz", "/readyz", "/api/city/status/"} <= tagged[PLATFORM_TAG]
    assert not any(path.startswith(tuple(PATHS.values())) for path in tagged[PLATFORM_TAG])


def test_the_upload_sends_a_binary_file_with_its_title_and_duplicate_policy(schema):
    content, upload = request_component(schema, "post", "/api/documents/", "multipart/form-data")
    assert upload["properties"]["file"]["type"] == "string"
    assert upload["properties"]["file"]["format"] == "binary"
    assert upload["properties"]["title"]["type"] == "string"
    assert upload["properties"]["allow_duplicate"]["type"] == "boolean"
    assert upload["required"] == ["file"]
    assert content["schema"]["$ref"].endswith("/UploadRequest")  # request components split


def test_the_upload_accepts_a_token_so_swagger_ui_offers_to_authorize_with_one(schema):
    """Swagger UI's "Authorize" asks for the header's whole value: `Token <key>`."""
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    assert {"tokenAuth": []} in schema["paths"]["/api/documents/"]["post"]["security"]


@pytest.mark.parametrize(("method", "path"), EXAMPLES)
def test_the_main_request_bodies_have_an_example_of_their_fields(schema, method, path):
    content, component = request_component(schema, method, path, "application/json")
    assert content["examples"], f"{method} {path} has no example"
    for example in content["examples"].values():
        fields = set(example["value"])
        assert fields <= set(component["properties"]), example
        assert set(component.get("required", [])) <= fields, example


def example_of(schema: dict, method: str, path: str) -> dict:
    content, _ = request_component(schema, method, path, "application/json")
    (example,) = content["examples"].values()
    return example["value"]


@pytest.mark.django_db
def test_the_registration_example_registers_a_newcomer_whose_token_the_token_example_gets(
    schema, api
):
    example = example_of(schema, "post", "/api/greeter/newcomers/")
    registered = api.post("/api/greeter/newcomers/", example, format="json")
    assert registered.status_code == 201, registered.json()
    assert registered.json()["user"]["username"] == example["username"]

    credentials = example_of(schema, "post", "/api/auth/token/")
    token = api.post("/api/auth/token/", credentials, format="json")
    assert token.status_code == 200, token.json()
    assert token.json()["token"] == registered.json()["token"]


@pytest.mark.django_db
def test_the_leasing_examples_create_a_property_a_unit_and_a_lease(schema, api):
    """With their ids pointing at the manager's own property and unit, and a tenant."""
    manager, tenant = factories.ManagerFactory(), factories.UserFactory()
    api.force_authenticate(manager)

    made = api.post(
        "/api/leasing/properties/", example_of(schema, "post", PROPERTIES), format="json"
    )
    assert made.status_code == 201, made.json()
    unit = {**example_of(schema, "post", UNITS), "property": made.json()["id"]}
    made = api.post(UNITS, unit, format="json")
    assert made.status_code == 201, made.json()
    lease = {**example_of(schema, "post", LEASES), "unit": made.json()["id"], "tenant": tenant.pk}
    made = api.post(LEASES, lease, format="json")
    assert made.status_code == 201, made.json()


# --- where summaries come from ------------------------------------------------------------


class PersonViewSet(viewsets.ModelViewSet):
    """People (not a docstring for any one operation)."""

    queryset = User.objects.none()
    serializer_class = PersonSerializer

    def list(self, request):
        """Everyone in the city.

        Sorted by name.
        """

    @extend_schema(summary="One person, by id")
    def retrieve(self, request, pk=None):
        """Not the summary: the explicit one wins."""

    @extend_schema(request=None, responses=PersonSerializer)
    @action(detail=True, methods=["post"], url_path="move-out")
    def move_out(self, request, pk=None):
        pass

    @extend_schema(responses=PersonSerializer(many=True))
    @action(detail=True, methods=["get"])
    def neighbours(self, request, pk=None):
        pass


class Undescribed(APIView):
    @extend_schema(responses=PersonSerializer)
    def get(self, request):
        pass


def schema_of(*urls) -> dict:
    return SchemaGenerator(patterns=list(urls)).get_schema(request=None, public=True)


def summaries(schema: dict) -> dict[tuple[str, str], str]:
    return {(method, path): op.get("summary") for method, path, op in operations(schema)}


def test_a_summary_is_explicit_else_the_handler_docstring_else_made_from_action_and_model():
    router = SimpleRouter()
    router.register("people", PersonViewSet, basename="person")

    schema = schema_of(*router.urls)

    assert summaries(schema) == {
        ("get", "/people/"): "Everyone in the city",
        ("post", "/people/"): "Create a user",
        ("get", "/people/{id}/"): "One person, by id",
        ("put", "/people/{id}/"): "Replace a user",
        ("patch", "/people/{id}/"): "Change a user",
        ("delete", "/people/{id}/"): "Delete a user",
        ("post", "/people/{id}/move-out/"): "Move a user out",
        ("get", "/people/{id}/neighbours/"): "The neighbours of a user",
    }
    assert schema["paths"]["/people/"]["get"]["description"] == "Sorted by name."
    assert {op["tags"][0] for _, _, op in operations(schema)} == {PLATFORM_TAG}
    assert [tag["name"] for tag in schema["tags"]] == [PLATFORM_TAG]  # no empty sections


def test_an_operation_with_no_summary_to_be_had_is_a_schema_warning(capsys):
    GENERATOR_STATS.reset()
    try:
        schema = schema_of(urls.path("undescribed/", Undescribed.as_view()))
        warned = bool(GENERATOR_STATS)
    finally:
        GENERATOR_STATS.reset()
    assert "summary" not in schema["paths"]["/undescribed/"]["get"]
    assert warned
    assert "GET /undescribed/ has no summary" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("noun", "article"),
    [("unit", "a"), ("application", "an"), ("lease", "a"), ("hour", "an"), ("user", "a")],
)
def test_the_article_goes_by_how_the_noun_sounds(noun, article):
    assert schema_article(noun) == article


# --- the errors each operation declares -----------------------------------------------------

ERROR_REF = "#/components/schemas/Error"


def errors_of(operation: dict) -> set[str]:
    return {status for status in operation["responses"] if status >= "400"}


def test_every_error_an_operation_declares_is_in_the_error_contract(schema):
    for method, path, operation in operations(schema):
        for status in errors_of(operation):
            content = operation["responses"][status]["content"]
            assert content["application/json"]["schema"] == {"$ref": ERROR_REF}, (
                method,
                path,
                status,
            )


@pytest.mark.parametrize(
    ("method", "path", "errors"),
    [
        # A body, an object by id, signed in, a write: every kind of error, and the view's 409.
        (
            "patch",
            "/api/leasing/units/{id}/",
            {"400", "401", "403", "404", "409", "413", "415", "429"},
        ),
        # A list: its filters (400) and its pages (404); a read by a signed-in user, not 403.
        ("get", "/api/leasing/leases/", {"400", "401", "404", "429"}),
        # An action on one object without a body; the view declares its 422.
        ("post", "/api/leasing/leases/{id}/sign/", {"401", "403", "404", "422", "429"}),
        # Only staff: 403 for a signed-in resident.
        ("get", "/api/documents/counts/", {"401", "403", "429"}),
        # Anonymous: no credentials are read, the edge's rate applies.
        ("get", "/api/greeter/greet", {"400", "429"}),
        # The probes: nothing but their own.
        ("get", "/healthz", set()),
        ("get", "/readyz", {"503"}),
    ],
)
def test_an_operation_declares_the_errors_it_may_answer(schema, method, path, errors):
    assert errors_of(schema["paths"][path][method]) == errors


def test_errors_a_view_declares_itself_are_kept_as_declared(schema):
    create_lease = schema["paths"]["/api/leasing/applications/{id}/create-lease/"]["post"]
    assert {"409", "422"} <= errors_of(create_lease)
    upload = schema["paths"]["/api/documents/"]["post"]["responses"]
    assert upload["200"]["description"] == "Already uploaded"
    token = schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert token["401"]["description"] == ""  # declared by the view: not described again


def test_the_errors_follow_from_what_an_operation_takes_and_who_may_call_it():
    router = SimpleRouter()
    router.register("people", PersonViewSet, basename="person")

    schema = schema_of(*router.urls)

    errors = {(method, path): errors_of(op) for method, path, op in operations(schema)}
    assert errors[("get", "/people/")] == {"401", "404", "429"}  # paginated: a page may not be
    assert errors[("post", "/people/")] == {"400", "401", "403", "413", "415", "429"}
    assert errors[("get", "/people/{id}/")] == {"401", "404", "429"}
    assert errors[("delete", "/people/{id}/")] == {"401", "403", "404", "429"}
    described = schema["paths"]["/people/{id}/"]["get"]["responses"]["404"]["description"]
    assert described == "Nothing that you may see is there."


@pytest.mark.parametrize("action", ["send-for-signature", "sign", "activate", "terminate"])
def test_a_lease_action_says_it_answers_the_lease(schema, action):
    answer = schema["paths"][f"/api/leasing/leases/{{id}}/{action}/"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Lease"}

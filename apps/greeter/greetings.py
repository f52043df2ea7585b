"""What the greeter says, in which language, to whom: pure functions, no I/O."""

import unicodedata
from dataclasses import dataclass

from django.utils.translation.trans_real import parse_accept_lang_header

DEFAULT_LANGUAGE = "en"
NAME_MAX_LENGTH = 100
# Control and format characters (NUL, newlines, bidi overrides) and line separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


@dataclass(frozen=True)
class Phrases:
    greeting: str  # to a newcomer at the door
    tenant_welcome: str  # to a resident whose lease has started


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        "Hello, {name}! Welcome to the city.", "Welcome home, {name}! Your new home is ready."
    ),
    "fr": Phrases(
        "Bonjour, {name} ! Bienvenue dans la ville.",
        "Bienvenue chez vous, {name} ! Votre logement est prêt.",
    ),
    "es": Phrases(
        "¡Hola, {name}! Te damos la bienvenida a la ciudad.",
        "¡Bienvenido a casa, {name}! Tu nuevo hogar está listo.",
    ),
    "de": Phrases(
        "Hallo, {name}! Willkommen in der Stadt.",
        "Willkommen zu Hause, {name}! Ihr neues Zuhause ist bereit.",
    ),
    "it": Phrases(
        "Ciao, {name}! Benvenuto in città.",
        "Bentornato a casa, {name}! La tua nuova casa è pronta.",
    ),
    "pt": Phrases(
        "Olá, {name}! Bem-vindo à cidade.", "Bem-vindo a casa, {name}! A sua nova casa está pronta."
    ),
    "nl": Phrases(
        "Hallo, {name}! Welkom in de stad.", "Welkom thuis, {name}! Je nieuwe huis staat klaar."
    ),
    "ja": Phrases(
        "こんにちは、{name}さん！街へようこそ。",
        "おかえりなさい、{name}さん！新しい住まいの準備ができました。",
    ),
    "pl": Phrases(
        "Cześć, {name}! Witamy w mieście.", "Witaj w domu, {name}! Twój nowy dom jest gotowy."
    ),
}
SUPPORTED_LANGUAGES = tuple(sorted(PHRASES))


class GreetingError(ValueError):
    """Input the greeter cannot greet; `field` says which input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def greeting(name: str, language: str) -> str:
    return PHRASES[language].greeting.format(name=name)


def tenant_welcome(name: str, language: str) -> str:
    return PHRASES[language].tenant_welcome.format(name=name)


def clean_name(raw: str | None) -> str:
    name = (raw or "").strip()
    if not name:
        raise GreetingError("name", "A name is required, e.g. ?name=Ada.")
    if len(name) > NAME_MAX_LENGTH:
        raise GreetingError("name", f"A name has at most {NAME_MAX_LENGTH} characters.")
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in name):
        raise GreetingError("name", "A name may not contain control or formatting characters.")
    return name


def clean_language(raw: str) -> str:
    language = raw.strip().lower()
    if language not in PHRASES:
        raise GreetingError(
            "lang",
            f"Unknown language '{raw[:20]}'. Supported: {', '.join(SUPPORTED_LANGUAGES)}.",
        )
    return language


def negotiate_language(accept_language: str) -> str:
    """The client's most preferred supported language ('fr-CA' counts as 'fr'), else English."""
    for code, _quality in parse_accept_lang_header(accept_language):
        language = code.split("-")[0]
        if language in PHRASES:
            return language
    return DEFAULT_LANGUAGE

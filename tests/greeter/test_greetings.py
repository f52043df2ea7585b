import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.greeter import greetings


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Hello, Ada! Welcome to the city."),
        ("fr", "Bonjour, Ada ! Bienvenue dans la ville."),
        ("es", "¡Hola, Ada! Te damos la bienvenida a la ciudad."),
        ("de", "Hallo, Ada! Willkommen in der Stadt."),
        ("it", "Ciao, Ada! Benvenuto in città."),
        ("pt", "Olá, Ada! Bem-vindo à cidade."),
        ("nl", "Hallo, Ada! Welkom in de stad."),
        ("ja", "こんにちは、Adaさん！街へようこそ。"),
        ("pl", "Cześć, Ada! Witamy w mieście."),
    ],
)
def test_greeting_in_each_language(language, expected):
    assert greetings.greeting("Ada", language) == expected


def test_every_language_has_a_tenant_welcome_naming_the_person():
    for language in greetings.SUPPORTED_LANGUAGES:
        assert "Ada" in greetings.tenant_welcome("Ada", language)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("xx, de;q=0.5", "de"),
        ("en;q=0.1, ja;q=0.9", "ja"),
        ("zz, yy", "en"),
        ("", "en"),
        ("*", "en"),
        ("not a header;;;", "en"),
    ],
)
def test_negotiation_picks_the_most_preferred_supported_language(header, expected):
    assert greetings.negotiate_language(header) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "required"),
        ("", "required"),
        ("   ", "required"),
        ("A" * 101, "at most 100"),
        ("Ada\x00", "control"),
        ("Ada\nBob", "control"),
        ("Ada\u202eboB", "control"),  # a right-to-left override hides what is shown
        ("Ada\u2028Bob", "control"),
    ],
)
def test_bad_names_are_refused_with_the_reason(raw, problem):
    with pytest.raises(greetings.GreetingError, match=problem) as refused:
        greetings.clean_name(raw)
    assert refused.value.field == "name"


def test_a_name_of_exactly_100_characters_is_accepted():
    assert greetings.clean_name("A" * 100) == "A" * 100


def test_unknown_language_names_the_supported_ones():
    with pytest.raises(greetings.GreetingError, match="Supported: de, en, es") as refused:
        greetings.clean_language("xx")
    assert refused.value.field == "lang"


printable_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=100,
).filter(lambda name: name.strip() == name and name)


@given(name=printable_names, language=st.sampled_from(greetings.SUPPORTED_LANGUAGES))
def test_any_acceptable_name_is_greeted_verbatim(name, language):
    assert name in greetings.greeting(greetings.clean_name(name), language)

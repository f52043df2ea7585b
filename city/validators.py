"""City's password validators (AUTH_PASSWORD_VALIDATORS), beside Django's own."""

from django.core.exceptions import ValidationError


class NotOnlyWhitespaceValidator:
    """Refuses a password of nothing but spaces, tabs or line breaks: long enough for
    Django's length rule, yet guessed at once (and easily mistyped as empty)."""

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError(
                "This password is only whitespace.", code="password_only_whitespace"
            )

    def get_help_text(self) -> str:
        return "Your password can’t be only whitespace."

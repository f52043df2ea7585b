from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from apps.greeter.greetings import SUPPORTED_LANGUAGES

LANGUAGE_CHOICES = [(code, code) for code in SUPPORTED_LANGUAGES]


class Newcomer(models.Model):
    """A person registered at the front door as a resident of the city."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="newcomer"
    )
    # Kept here, unique regardless of case, so two registrations can't share an address
    # even when they race (auth's user table does not make email unique).
    email = models.EmailField()
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="greeter_newcomer_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.user.get_username()


class Welcome(models.Model):
    """A greeting recorded for a resident: at registration, and when a lease starts."""

    class Occasion(models.TextChoices):
        REGISTRATION = "registration"
        TENANCY = "tenancy"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="welcomes"
    )
    occasion = models.CharField(max_length=16, choices=Occasion.choices)
    # The leasing service's lease id (a plain id: no foreign key across services).
    lease_id = models.BigIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A lease is welcomed once, however often the task is delivered.
            models.UniqueConstraint(fields=["lease_id"], name="greeter_welcome_once_per_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.occasion} welcome for user {self.user_id}"

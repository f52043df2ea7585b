"""Properties, their units, applications for a unit, leases and the rent they charge.

No unit is double-booked: two leases of one unit that are pending signature or active
never overlap in time. The database refuses it (see migrations/0002_no_double_booking.py),
so it holds even for requests that race each other.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "A currency is an ISO 4217 code, e.g. EUR.")


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def currency_field() -> models.CharField:
    return models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])


class Property(models.Model):
    """A building or house, managed by one user (see docs/leasing.md: who is a manager)."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="managed_properties"
    )
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    city = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "properties"
        ordering = ["id"]
        permissions = [("manage_properties", "Can add properties and manage their own")]
        # The availability search matches the city regardless of case.
        indexes = [models.Index(Upper("city"), name="leasing_property_city_ci")]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"


class Unit(models.Model):
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="units")
    label = models.CharField(max_length=50)
    bedrooms = models.PositiveSmallIntegerField()
    area_m2 = models.DecimalField(max_digits=7, decimal_places=2)
    monthly_rent = money_field()
    deposit = money_field()
    currency = currency_field()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["monthly_rent", "id"]
        constraints = [
            models.UniqueConstraint(fields=["property", "label"], name="leasing_unit_label_unique"),
            models.CheckConstraint(
                condition=Q(monthly_rent__gt=0) & Q(deposit__gte=0) & Q(area_m2__gt=0),
                name="leasing_unit_amounts_positive",
            ),
        ]
        indexes = [
            # The availability search walks active units in rent order and stops at a page;
            # with bedrooms and property in the index, it passes over a unit that the search's
            # filters reject without reading the unit's row.
            models.Index(
                fields=["monthly_rent", "id", "bedrooms", "property"],
                condition=Q(active=True),
                name="leasing_unit_available",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.property})"


class Application(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"
        # Left submitted, undecided, past LEASING_APPLICATION_TTL_DAYS (see
        # services.applications_expire_stale).
        EXPIRED = "expired"

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lease_applications"
    )
    # A unit someone applied for stays until its applications are dealt with.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="applications")
    wished_start = models.DateField()
    wished_end = models.DateField(null=True, blank=True)
    # The documents service's document ids (a plain list: no foreign key across services).
    document_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the applicant submitted it: an undecided application expires counting from here.
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(wished_end__isnull=True) | Q(wished_end__gt=F("wished_start")),
                name="leasing_application_period_valid",
            ),
        ]
        indexes = [
            # The daily expiry looks for the applications submitted longest ago.
            models.Index(
                fields=["submitted_at"],
                condition=Q(status="submitted"),
                name="leasing_application_awaiting",
            ),
        ]

    def __str__(self) -> str:
        return f"application {self.pk} for {self.unit}"


class Lease(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PENDING_SIGNATURE = "pending_signature"
        ACTIVE = "active"
        ENDED = "ended"
        TERMINATED = "terminated"

    # Leases in these states hold their unit: the database refuses two that overlap.
    HOLDING = (Status.PENDING_SIGNATURE, Status.ACTIVE)

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="leases")
    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leases"
    )
    start_date = models.DateField()
    # Exclusive: the first day the tenant no longer has the unit. Null: open-ended.
    end_date = models.DateField(null=True, blank=True)
    monthly_rent = money_field()
    deposit = money_field()
    currency = currency_field()
    # The day of the month rent is due; rent periods run from due day to due day.
    due_day = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    renewal_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals"
    )
    # The approved application the lease was drawn up from, if any.
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="leases"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # When the manager terminated it. A lease terminated from a future day stays active (and
    # holds its unit) until then, with that day as its end date; see services.lease_terminate.
    terminated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="leasing_lease_period_valid",
            ),
            models.CheckConstraint(
                condition=Q(due_day__gte=1) & Q(due_day__lte=31), name="leasing_lease_due_day_valid"
            ),
            models.CheckConstraint(
                condition=Q(monthly_rent__gt=0) & Q(deposit__gte=0),
                name="leasing_lease_amounts_positive",
            ),
            # A lease is renewed once (partial, so SQLite adds it without rebuilding the table).
            models.UniqueConstraint(
                fields=["renewal_of"],
                condition=Q(renewal_of__isnull=False),
                name="leasing_lease_renewed_once",
            ),
            # One lease per application (partial, for the same reason).
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(application__isnull=False),
                name="leasing_lease_one_per_application",
            ),
        ]
        indexes = [
            # The availability search asks, per unit, for a holding lease overlapping a period,
            # answered from the index alone. Not partial on the status: SQLite uses a partial
            # index only when the query spells its condition in literals, never parameters.
            models.Index(
                fields=["unit", "status", "start_date", "end_date"],
                name="leasing_lease_unit_period",
            ),
        ]

    def __str__(self) -> str:
        return f"lease {self.pk} of {self.unit}"


class RentCharge(models.Model):
    """The rent of one period of a lease: [period_start, period_end), due on due_date."""

    lease = models.ForeignKey(Lease, on_delete=models.CASCADE, related_name="charges")
    period_start = models.DateField()
    period_end = models.DateField()
    due_date = models.DateField()
    amount = money_field()
    currency = currency_field()

    class Meta:
        ordering = ["lease", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["lease", "period_start"], name="leasing_charge_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="leasing_charge_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.period_start}–{self.period_end}"

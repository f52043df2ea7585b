from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from apps.greeter.models import Newcomer

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"resident{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@city.example")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(user, create, extracted, **kwargs):
        if create:
            user.save()


class StaffFactory(UserFactory):
    """Someone who runs the city: the admin and the dashboard are theirs."""

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class NewcomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newcomer

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda newcomer: newcomer.user.email)
    language = "en"


class ManagerFactory(UserFactory):
    """A property manager: a user holding leasing.manage_properties."""

    username = factory.Sequence(lambda n: f"manager{n}")

    @factory.post_generation
    def grant_manage_permission(user, create, extracted, **kwargs):
        if create:
            user.user_permissions.add(Permission.objects.get(codename="manage_properties"))


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "leasing.Property"

    manager = factory.SubFactory(ManagerFactory)
    name = factory.Sequence(lambda n: f"House {n}")
    address = factory.Sequence(lambda n: f"{n} Harbour Street")
    city = "Lyon"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "leasing.Unit"

    property = factory.SubFactory(PropertyFactory)
    label = factory.Sequence(lambda n: f"Flat {n}")
    bedrooms = 2
    area_m2 = Decimal("54.50")
    monthly_rent = Decimal("900.00")
    deposit = Decimal("1800.00")
    currency = "EUR"


class LeaseFactory(factory.django.DjangoModelFactory):
    """A draft lease; move it on through the services, which is what the tests pin."""

    class Meta:
        model = "leasing.Lease"

    unit = factory.SubFactory(UnitFactory)
    tenant = factory.SubFactory(UserFactory)
    start_date = date(2025, 1, 1)
    end_date = date(2026, 1, 1)
    monthly_rent = factory.LazyAttribute(lambda lease: lease.unit.monthly_rent)
    deposit = factory.LazyAttribute(lambda lease: lease.unit.deposit)
    currency = factory.LazyAttribute(lambda lease: lease.unit.currency)
    due_day = factory.LazyAttribute(lambda lease: lease.start_date.day)

import factory
from django.contrib.auth import get_user_model

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


class NewcomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newcomer

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda newcomer: newcomer.user.email)
    language = "en"

import pytest

from tests.factories import UserFactory


@pytest.fixture
def owner(db):
    """The person who installed Patron: a superuser, on a shop with nothing in it yet."""
    return UserFactory(email="owner@example.com", name="Olga Owner", is_superuser=True,
                       is_staff=True)

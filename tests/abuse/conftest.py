"""The shop the abuse tests attack: the same as the points tests use."""

from ..programs.conftest import coffee, shop, store  # noqa: F401

# The core's shop (a SEK spend program, a point per krona), store and reward, shared rather than
# copied.
from ..programs.conftest import coffee, shop, store  # noqa: F401

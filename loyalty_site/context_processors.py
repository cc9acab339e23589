from django.conf import settings
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _


def shop(request):
    context = {"SHOP_NAME": settings.SHOP_NAME, "SHOP_CURRENCY": settings.SHOP_CURRENCY}
    if request.path.startswith("/staff/") and request.user.is_authenticated:
        from .permissions import staff_role

        labels = {"manager": _("Manager"), "cashier": _("Cashier")}
        context["staff_role_label"] = SimpleLazyObject(
            lambda: labels.get(staff_role(request.user), "")
        )
    return context

from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from programs.business import business_profile


def shop(request):
    profile = business_profile()
    context = {"SHOP_NAME": profile.name, "SHOP_CURRENCY": profile.currency,
               "SHOP_LOGO_VERSION": profile.logo_version}
    if request.path.startswith("/staff/") and request.user.is_authenticated:
        from .permissions import staff_role

        labels = {"manager": _("Manager"), "cashier": _("Cashier")}
        context["staff_role_label"] = SimpleLazyObject(
            lambda: labels.get(staff_role(request.user), "")
        )
    return context

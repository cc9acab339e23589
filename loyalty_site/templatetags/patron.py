from django import template
from django.utils import translation

from programs.money import format_money

register = template.Library()


@register.filter
def money(amount, currency=None):
    """Format an amount in the visitor's language and the shop's currency: {{ x|money }}."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency or None, translation.get_language())


@register.inclusion_tag("includes/language_form.html", takes_context=True)
def language_switcher(context):
    from django.conf import settings

    request = context["request"]
    return {
        "languages": settings.LANGUAGES,
        "current": translation.get_language(),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }

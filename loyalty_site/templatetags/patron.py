from babel.numbers import format_decimal
from django import template
from django.utils import translation
from django.utils.safestring import mark_safe

from programs.money import babel_locale, format_money
from programs.qr import qr_svg as draw_qr_svg

register = template.Library()


@register.filter
def money(amount, currency=None):
    """Format an amount in the visitor's language and the shop's currency: {{ x|money }}."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency or None, translation.get_language())


@register.filter
def points(number):
    """A whole number of points grouped as the visitor reads it: 12,345 / 12 345 / 12.345."""
    if number is None or number == "":
        return ""
    return format_decimal(int(number), locale=babel_locale(translation.get_language()))


@register.filter
def multiplier(value):
    """A multiplier as people write it, in the visitor's language: 2, 1.5, 1,25 (never 1E+1)."""
    if value is None or value == "":
        return ""
    return format_decimal(value, locale=babel_locale(translation.get_language()))


@register.simple_tag
def qr_svg(text, title=""):
    """An inline SVG QR code of `text` for the till's scanner: {% qr_svg member.number title %}.
    Safe to mark safe: the text is drawn as modules, and segno escapes the title."""
    return mark_safe(draw_qr_svg(text, title=str(title)))  # noqa: S308


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

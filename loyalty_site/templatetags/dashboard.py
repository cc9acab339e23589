"""Numbers on the metrics page, in the staff member's language:
{{ figure.value|metric_value:metric.unit }} and {{ reading.change|metric_change:metric.unit }}."""

from babel.numbers import format_decimal
from django import template
from django.utils import translation
from django.utils.translation import gettext as _

from programs.money import babel_locale, format_money

register = template.Library()

# The digits each kind of figure shows; money follows its currency instead.
PATTERNS = {"percent": "#,##0.0", "ratio": "#,##0.00", "score": "#,##0.00", "points": "#,##0",
            "count": "#,##0"}


def _number(value, unit):
    return format_decimal(value, format=PATTERNS.get(unit, "#,##0.##"),
                          locale=babel_locale(translation.get_language()))


@register.filter
def metric_value(value, unit):
    """A metric's value as the visitor reads it: "33,3 %", "1 581,67 kr", "12,345"."""
    if value is None or value == "":
        return ""
    if unit == "money":
        return format_money(value, None, translation.get_language())
    text = _number(value, unit)
    return f"{text} %" if unit == "percent" else text


@register.filter
def metric_change(value, unit):
    """A change from the previous period with its sign: "+120", "−3.4 pp" (a percentage changes
    by percentage points, not per cent)."""
    if value is None or value == "":
        return ""
    if unit == "percent":
        text = _("%(points)s pp") % {"points": _number(abs(value), unit)}
    else:
        text = metric_value(abs(value), unit)
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)

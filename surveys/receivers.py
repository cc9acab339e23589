"""How surveys follow the programs core (programs.signals)."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from . import selectors, services

# The key of the after-purchase surveys in the earning configuration's snapshot.
AFTER_PURCHASE_SURVEYS = "surveys.after_purchase"


def invite_after_purchase(sender, purchase, config, **kwargs):
    # Inside the purchase's transaction: the invitation commits with the purchase or not at all.
    # The email itself goes out later, from the periodic task, once the survey's delay is over.
    if not services.invite_after_purchase(
            purchase=purchase, surveys=config.extra[AFTER_PURCHASE_SURVEYS]):
        return None
    # The till shows this beside its own message: a customer without email can answer from the
    # receipt. Safe HTML: only our own URL and translated text go in.
    return format_html('<a href="{}">{}</a>', reverse("staff:survey_receipt", args=[purchase.pk]),
                       _("Print the survey link for the receipt"))


def collect_member_data(sender, member, **kwargs):
    return selectors.member_data(member)


def forget_member(sender, member, now, **kwargs):
    services.forget_member(member=member, now=now)

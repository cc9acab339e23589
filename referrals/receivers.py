"""How referrals follow the core: sign-ups and purchases attribute and qualify, refunds cancel.

Connected in ReferralsConfig.ready(). A bad referral code never raises here: it is recorded
with its reason and answered with a message, so the sign-up or purchase always goes through.
"""

from django.contrib import messages

from . import selectors, services
from .models import Source

# The key of selectors.programs_with_referrals in the earning configuration's snapshot.
REFERRAL_PROGRAMS = "referrals.programs"

# Where programs.services.enrol_member was called from, as a referral's source.
ENROLMENT_SOURCES = {"api": Source.API, "till": Source.TILL}


def member_enrolled(sender, *, member, store=None, source="", referral_code="", request=None, **kwargs):
    if not referral_code:
        return None
    if source == "portal":
        referral_source = services.source_for_signup(request, referral_code)
    else:
        referral_source = ENROLMENT_SOURCES.get(source, Source.API)
    notice = services.attribute(friend=member, code=referral_code, source=referral_source,
                                request=request, store=store)
    if request is not None and hasattr(request, "_messages"):
        messages.info(request, notice)
    return notice


def referral_code_given(sender, *, member, referral_code, store=None, source="", **kwargs):
    """A known member gave a code (the API enrolling them again): it may still count for a
    recent sign-up who has not bought yet; otherwise the refusal is recorded."""
    return services.attribute(friend=member, code=referral_code, store=store,
                              source=ENROLMENT_SOURCES.get(source, Source.API))


def purchase_recorded(sender, *, purchase, config, actor=None, referral_code="", **kwargs):
    notices = []
    if referral_code:
        notices.append(services.attribute(friend=purchase.member, code=referral_code,
                                          source=Source.TILL, actor=actor, store=purchase.store,
                                          purchase=purchase, now=purchase.recorded_at))
    if config.extra[REFERRAL_PROGRAMS]:
        notices += services.qualify(purchase=purchase, now=purchase.recorded_at)
    return " ".join(notices) or None


def purchase_refunded(sender, *, refund, **kwargs):
    services.cancel_for_refund(refund=refund, now=refund.recorded_at)


def collect_member_data(sender, *, member, **kwargs):
    return selectors.member_data(member)


def member_closing(sender, *, member, **kwargs):
    services.forget_member(member=member)

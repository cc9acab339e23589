"""Referrals in the member portal: the share link, sign-up with a referrer's code, and the
member's own referrals page. Every read goes through the signed-in member."""

from urllib.parse import quote

from allauth.account.views import SignupView as AllauthSignupView
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from programs.business import shop_name
from programs.views.portal import member_required

from .. import rules, selectors, services
from ..forms import LeaderboardForm
from ..models import Reason


def _lookup_key(request):
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


@require_GET
def share_link(request, code):
    """A friend's share link: remember the referrer for the program's window, then sign up.
    An unknown code still leads to the sign-up page, with a word that the link is not valid."""
    if request.user.is_authenticated:
        messages.info(request, _("You are a member already; referral links are for new customers."))
        return redirect("portal:home")
    found, reason = services.find_referrer(code, lookup_key=_lookup_key(request))
    response = redirect("account_signup")
    if reason == Reason.RATE_LIMITED:
        messages.warning(request, _("Too many invitation links were opened from here in a few "
                                    "minutes, so this one was not read. You are welcome to join, "
                                    "or open the link again later."))
        return response
    if found is None:
        messages.warning(request, _("This invitation link is not valid, but you are welcome to join."))
        return response
    response.set_cookie(rules.COOKIE_NAME, found.code, max_age=selectors.cookie_days() * 86400,
                        secure=request.is_secure(), httponly=True, samesite="Lax")
    return response


class SignupView(AllauthSignupView):
    """allauth's sign-up, with the referral code field filled from a share link's cookie."""

    def get_initial(self):
        initial = super().get_initial()
        code = services.read_code(self.request.COOKIES.get(rules.COOKIE_NAME, ""))
        if code:
            initial["referral_code"] = f"{code[:4]}-{code[4:]}"
        return initial


def share_links(link, shop_name):
    """Ready-made share addresses for email, WhatsApp, Telegram and SMS."""
    text = _("Join me at %(shop)s's loyalty club: %(link)s") % {"shop": shop_name, "link": link}
    subject = _("An invitation to %(shop)s") % {"shop": shop_name}
    return {
        "email": f"mailto:?subject={quote(subject)}&body={quote(text)}",
        "whatsapp": f"https://wa.me/?text={quote(text)}",
        "telegram": f"https://t.me/share/url?url={quote(link)}&text={quote(subject)}",
        "sms": f"sms:?&body={quote(text)}",
    }


@require_http_methods(["GET"])
@member_required
def my_referrals(request, member):
    code = services.referral_code_for(member)
    link = settings.SITE_URL.rstrip("/") + reverse("portal:share_link", args=[code.display_code])
    referrals = list(selectors.member_referrals(member))
    entries, gifts = selectors.member_referral_rewards(member)
    return render(request, "portal/referrals/index.html", {
        "member": member, "code": code, "link": link,
        "share": share_links(link, shop_name()),
        # Friends by first name and initial: the referrer knows them, others need not.
        "referrals": [(r, rules.short_name(r.friend)) for r in referrals],
        "entries": entries, "gifts": gifts,
        "points_earned": sum(e.points for e in entries),
        "milestones": selectors.milestone_progress(member, referrals),
        "programs": selectors.active_settings(),
        "leaderboard_form": LeaderboardForm(initial={"on_leaderboard": code.on_leaderboard}),
    })


@require_POST
@member_required
def leaderboard_choice(request, member):
    form = LeaderboardForm(request.POST)
    form.is_valid()  # a checkbox: any input is a valid yes or no
    show = form.cleaned_data.get("on_leaderboard", False)
    services.set_leaderboard(member=member, show=show)
    messages.success(request, _("You are on the leaderboard.") if show
                     else _("You are not on the leaderboard."))
    return redirect("portal:referrals")

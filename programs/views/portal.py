"""The member portal's points pages: balance history, rewards, codes for the till, the card.

Thin: each view reads through programs.selectors and writes through programs.services. Every
lookup goes through the signed-in member, so another member's code is a 404 like a missing one.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from loyalty_site.permissions import is_staff_member

from .. import offers, qr, selectors, services
from ..badges import member_badges
from ..birthdays import set_birthday
from ..business import shop_name
from ..forms import BirthdayForm

HISTORY_PAGE_SIZE = 25


def member_required(view):
    """Sign-in required; the view gets the person's member card as `member`. A person without
    one (staff, or an account the till has not connected yet) gets a page that says so."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        member = selectors.member_for_user(request.user)
        if member is None:
            return render(request, "portal/no_member.html",
                          {"is_staff_member": is_staff_member(request.user)}, status=403)
        return view(request, member, *args, **kwargs)

    return wrapped


@require_GET
@member_required
def points(request, member):
    memberships = selectors.member_memberships(member)
    program = None
    if len(memberships) > 1:
        slug = request.GET.get("program")
        program = next((m.program for m in memberships if m.program.slug == slug), None)
    page = Paginator(selectors.points_history(member, program=program),
                     HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = [(entry, selectors.entry_cause(entry)) for entry in page]
    return render(request, "portal/points.html", {
        "member": member, "memberships": memberships, "program": program,
        "page": page, "entries": entries,
    })


@require_GET
@member_required
def badges(request, member):
    earned, facts = member_badges(member)
    return render(request, "portal/badges.html", {"member": member, "badges": earned, **facts})


@require_GET
@member_required
def rewards(request, member):
    return render(request, "portal/rewards.html", {
        "member": member, "catalog": selectors.reward_catalog(member),
        "offers": offers.open_offers(member),
    })


@require_http_methods(["GET", "POST"])
@member_required
def redeem(request, member, reward_id):
    """GET asks the member to confirm; POST spends the points and shows the new code."""
    row = selectors.catalog_reward(member, reward_id)
    if row is None:
        raise Http404
    error = None
    if request.method == "POST":
        try:
            redemption = services.redeem_reward(member=member, reward=row["reward"])
        except services.PointsError as failure:
            if "points" in failure.message_dict:
                # The service speaks to staff ("The member has …"); the member reads it in the
                # second person, with the figures as they stand now.
                row = selectors.catalog_reward(member, reward_id) or row
                error = _("You have %(available)s points available; this reward needs %(cost)s.") % {
                    "available": row["available"], "cost": row["reward"].cost}
            else:
                error = " ".join(failure.messages)
        else:
            messages.success(request, _("Done! Show this code at the till."))
            return redirect("portal:code", redemption_id=redemption.pk)
    return render(request, "portal/redeem_confirm.html", {
        "member": member, "row": row, "error": error,
        "left_after": row["available"] - row["reward"].cost,
    }, status=400 if error else 200)


@require_GET
@member_required
def codes(request, member):
    return render(request, "portal/codes.html", {
        "member": member, **selectors.member_redemptions(member),
    })


@require_GET
@member_required
def code(request, member, redemption_id):
    redemption = selectors.member_redemption(member, redemption_id)
    if redemption is None:
        raise Http404
    return render(request, "portal/code.html", {"member": member, "redemption": redemption})


@require_GET
@member_required
def card(request, member):
    return render(request, "portal/card.html", {"member": member, "birthday_form": BirthdayForm()})


@require_http_methods(["POST"])
@member_required
def birthday(request, member):
    """The member gives their birthday, once, for the birthday treat."""
    form = BirthdayForm(request.POST)
    if form.is_valid():
        try:
            set_birthday(member=member, birthday=form.cleaned_data["birthday"])
        except ValidationError as error:
            form.add_error(None, error.message_dict["birthday"])
    if form.errors:
        return render(request, "portal/card.html", {"member": member, "birthday_form": form},
                      status=400)
    messages.success(request, _("Thank you! Your birthday is saved."))
    return redirect("portal:card")


@require_GET
@member_required
@cache_control(private=True, no_cache=True)
def card_png(request, member):
    """The card as a PNG to save on the phone: what the till scans, without the portal."""
    user = request.user
    # Same words as the card on the home page, so the translations are shared.
    image = qr.card_png(
        shop_name=shop_name(),
        member_name=user.get_full_name(),
        number=member.number,
        display_number=member.display_number,
        label=_("Member"),
        since=_("Since %(date)s") % {
            "date": date_filter(timezone.localtime(member.joined_at), "DATE_FORMAT")},
    )
    response = HttpResponse(image, content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="member-card-{member.number}.png"'
    return response

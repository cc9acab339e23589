"""The till: find a member, record purchases and refunds, redeem and accept reward codes, pay
with points, adjust points with a reason.

Thin: each view reads through programs.selectors and writes through programs.services. A
service's ValidationError is shown beside the field it names and nothing is written; a write
that worked answers with a redirect (a reload does not repeat it) and a message saying what
happened to the member's points. Every page is plain forms; htmx (hx-boost in the template) only
swaps the main area instead of loading the whole page.
"""

import secrets
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from loyalty_site.permissions import staff_required
from loyalty_site.roles import perm

from .. import selectors, services
from ..forms import (
    AdjustForm,
    CodeForm,
    PayForm,
    PurchaseForm,
    RedeemForm,
    RefundForm,
    SearchForm,
    StoreForm,
    TierForm,
)
from ..models import LedgerEntry
from ..money import format_money
from ..points import CODE_ALPHABET, CODE_LENGTH
from ..ratelimit import TILL_CODE_LOOKUPS, TILL_MEMBER_LOOKUPS

STORE_SESSION_KEY = "till_store"


# --- Helpers ---------------------------------------------------------------------------------


def _n(points):
    return number_format(points, force_grouping=True)


def _when(moment):
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _suggested_number(kind):
    # Made when the form is shown, not when it is sent: a second press of the button sends the
    # same number, and the service recognises it as a repeat that earns nothing.
    return f"{kind}{timezone.localtime():%y%m%d}-{secrets.token_hex(3).upper()}"


def _current_store(request, stores=None):
    """The store the person works at, chosen once per session; the only store when there is
    just one. `stores` is the list of active stores when the caller has it already."""
    store_id = request.session.get(STORE_SESSION_KEY)
    if stores is None:
        store = selectors.till_store(store_id) if store_id else None
        stores = [] if store else list(selectors.till_stores()[:2])
    else:
        store = next((s for s in stores if s.pk == store_id), None)
    if store is None and len(stores) == 1:
        store = stores[0]
    return store


def _show_errors(form, error):
    """Put a service's messages beside the fields they name, the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _no_store(form):
    form.add_error(None, _("Choose your store at the top of the till first."))


def _autofocus(form, name=None):
    """Focus the first field with an error, or `name`."""
    if name is None:
        name = next((field for field in form.errors if field in form.fields), None)
        name = name or next(iter(form.fields))
    form.fields[name].widget.attrs["autofocus"] = True


def _with_member(view):
    """The view gets the member named by the card number in the URL; 404 for none."""

    @wraps(view)
    def wrapped(request, number, *args, **kwargs):
        refused = _member_lookups_refused(request)
        if refused is not None:
            return refused
        return view(request, _till_member_or_404(request, number), *args, **kwargs)

    return wrapped


def _member_action(view):
    """A write about the member named in the URL. Only a POST writes; a GET (a reload of the
    address htmx showed after a refused form) goes to the member's page."""

    @wraps(view)
    def wrapped(request, number):
        refused = _member_lookups_refused(request)
        if refused is not None:
            return refused
        member = _till_member_or_404(request, number)
        if request.method != "POST":
            return redirect(_member_url(member))
        return view(request, member)

    return wrapped


def _till_member_or_404(request, number):
    """The member with this card number. A number that finds nobody counts against the
    person's TILL_MEMBER_LOOKUPS, so that the till cannot be used to walk through numbers."""
    member = selectors.till_member(number)
    if member is None:
        TILL_MEMBER_LOOKUPS.hit(request.user.pk)
        raise Http404
    return member


def _member_lookups_refused(request):
    """The till's search page saying why, once the person has looked up too many members who
    do not exist; None while they may look up more. Status 200 like the till's other refusals:
    htmx swaps no 4xx answer in, and the cashier must see the message."""
    if not TILL_MEMBER_LOOKUPS.is_exceeded(request.user.pk):
        return None
    minutes = _retry_minutes(TILL_MEMBER_LOOKUPS)
    messages.error(request, ngettext(
        "Too many searches found no member in the last few minutes. Try again in %(minutes)s minute.",
        "Too many searches found no member in the last few minutes. Try again in %(minutes)s minutes.",
        minutes) % {"minutes": minutes})
    return _render_till(request)


def _retry_minutes(limit):
    return -(-limit.retry_after() // 60)


def _member_url(member):
    return reverse("staff:till_member", args=[member.number])


def _points_by_program(entries):
    """[(membership, points)] summed per program, memberships as they are after the change."""
    totals = {}
    for entry in entries:
        membership, points = totals.get(entry.membership_id, (entry.membership, 0))
        totals[entry.membership_id] = (membership, points + entry.points)
    return list(totals.values())


def _balance(membership):
    text = _("balance %(balance)s, %(available)s available now") % {
        "balance": _n(membership.balance), "available": _n(membership.available)}
    if membership.points_owed:
        text += "; " + _("%(owed)s owed from a refund") % {"owed": _n(membership.points_owed)}
    return text


# --- Pages -----------------------------------------------------------------------------------


def _looks_like_code(query):
    code = services.normalise_code(query)
    return len(code) == CODE_LENGTH and not code.isdigit() and all(c in CODE_ALPHABET for c in code)


@staff_required("use_till")
def till(request):
    """The search page: one box for a card number, email or phone (typed, or scanned)."""
    search = SearchForm(request.GET or None)
    code_form = CodeForm()
    members = []
    if search.is_valid():
        refused = _member_lookups_refused(request)
        if refused is not None:
            return refused
        query = search.cleaned_data["q"]
        members = selectors.find_members(query)
        if len(members) == 1:
            return redirect(_member_url(members[0]))
        if not members and not _looks_like_code(query):
            TILL_MEMBER_LOOKUPS.hit(request.user.pk)
        if not members:
            if selectors.mistyped_member_number(query):
                search.add_error("q", _("%(number)s is not a member number: a digit is mistyped "
                                        "(the last digit does not match). Check the card and try "
                                        "again.") % {"number": query})
            elif _looks_like_code(query):
                # A reward code scanned into the search box: offer to accept it.
                code_form = CodeForm(initial={"code": query})
                search = SearchForm()
                _autofocus(code_form, "code")
                search.fields["q"].widget.attrs.pop("autofocus")
                messages.info(request, _("That looks like a reward code: accept it below."))
            else:
                search.add_error("q", _("No member found for “%(query)s”. Search by member number, "
                                        "email address or phone number.") % {"query": query})
    return _render_till(request, search=search, code_form=code_form, members=members)


def _render_till(request, *, search=None, code_form=None, members=()):
    stores = list(selectors.till_stores())
    return render(request, "staff/till/index.html", {
        **_store_context(request, stores),
        "search": search or SearchForm(),
        "code_form": code_form or CodeForm(),
        "members": members,
    })


def _store_context(request, stores):
    store = _current_store(request, stores)
    return {
        "store": store,
        "stores": stores,
        "store_form": StoreForm(stores=stores, initial={
            "store": store.pk if store else None, "next": request.get_full_path()}),
    }


@require_POST
@staff_required("use_till")
def choose_store(request):
    """Remember in the session which store this person is working at."""
    form = StoreForm(request.POST, stores=list(selectors.till_stores()))
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("staff:till")
    if form.is_valid():
        request.session[STORE_SESSION_KEY] = form.cleaned_data["store"]
        store = selectors.till_store(form.cleaned_data["store"])
        messages.success(request, _("You are working at %(store)s.") % {"store": store})
    else:
        messages.error(request, _("Choose one of the stores."))
    return redirect(next_url)


@staff_required("use_till")
@_with_member
def member_panel(request, member):
    """The member: balances, latest purchases and codes, and a form for each thing the till does.

    ?refund=<purchase id> opens the refund form on that purchase with what is left to refund.
    """
    refund_of = None
    if "refund" in request.GET:
        refund_of = selectors.member_purchase(member, request.GET["refund"])
    return _render_panel(request, member, refund_of=refund_of)


def _render_panel(request, member, bound=None, *, refund_of=None):
    """The member page, with `bound` (a form that was sent and refused) in place of its blank
    twin. Focus goes to a refused field, to the search box after something was done (the next
    customer), and otherwise to the purchase amount (the usual reason to find a member)."""
    stores = list(selectors.till_stores())
    standing = selectors.member_programs(member)
    purchases = selectors.member_purchases(member)
    refundable = [p for p in purchases if p.left > 0]
    if refund_of is not None and refund_of.pk not in {p.pk for p in refundable}:
        refundable.insert(0, refund_of)
    rewards = selectors.affordable_rewards(standing)
    forms = {
        "purchase": PurchaseForm(initial={"external_id": _suggested_number("T")}),
        "refund": RefundForm(purchases=refundable, initial={
            "purchase": refund_of.pk if refund_of else None,
            "amount": refund_of.left if refund_of else "",
            "external_id": _suggested_number("R")}),
        "redeem": RedeemForm(rewards=rewards),
        "code": CodeForm(initial={"member": member.number}),
        "pay": _pay_form(standing),
        "adjust": AdjustForm(programs=[row["program"] for row in standing]),
    }
    if request.user.has_perm(perm("manage_programs")):
        forms["tier"] = TierForm(tier_list=selectors.active_tiers())
    search = SearchForm()
    opened = None
    if bound is not None:
        # The refused form shows the same choices as a fresh one, plus the one that was chosen.
        if isinstance(bound, RefundForm):
            chosen = [p for p in bound.fields["purchase"].choices if p[0] not in {r.pk for r in refundable}]
            bound.set_purchases(refundable)
            bound.fields["purchase"].choices += chosen
        elif isinstance(bound, RedeemForm):
            chosen = bound.chosen_reward()
            bound.set_rewards([*rewards, *([chosen] if chosen and chosen not in rewards else [])])
        forms[bound.prefix] = bound
        opened = bound.prefix
        _autofocus(bound)
    elif refund_of is not None:
        opened = "refund"
        _autofocus(forms["refund"], "amount")
    elif not len(messages.get_messages(request)):
        _autofocus(forms["purchase"], "amount")
    if opened or "autofocus" in forms["purchase"].fields["amount"].widget.attrs:
        search.fields["q"].widget.attrs.pop("autofocus")
    can_adjust_any = request.user.has_perm(perm("adjust_points_unlimited"))
    return render(request, "staff/till/member.html", {
        **_store_context(request, stores),
        "search": search,
        "member": member,
        "standing": standing,
        "purchases": purchases,
        "codes": selectors.till_codes(member),
        "forms": forms,
        "opened": opened,
        "can_pay": any(row["available"] > 0 and row["program"].point_value is not None
                       for row in standing),
        "can_adjust": request.user.has_perm(perm("adjust_points")),
        "adjust_limit": None if can_adjust_any else settings.CASHIER_ADJUST_LIMIT,
    })


# --- Actions ---------------------------------------------------------------------------------


@staff_required("use_till")
@_member_action
def record_purchase(request, member):
    form = PurchaseForm(request.POST)
    store = _current_store(request)
    if form.is_valid() and store is None:
        _no_store(form)
    elif form.is_valid():
        receipt = form.cleaned_data["external_id"]
        try:
            purchase, created = services.record_purchase(
                store=store, member=member, external_id=receipt, amount=form.cleaned_data["amount"],
                actor=request.user, referral_code=form.cleaned_data["referral_code"])
        except ValidationError as error:
            _show_errors(form, error)
        else:
            if created:
                messages.success(request, _purchase_message(purchase))
                for notice in purchase.notices:
                    messages.info(request, notice)
            else:
                messages.warning(request, _(
                    "Receipt %(receipt)s was already recorded at %(store)s on %(date)s. Nothing "
                    "was earned this time.") % {"receipt": receipt, "store": store,
                                                "date": _when(purchase.recorded_at)})
            return redirect(_member_url(member))
    return _render_panel(request, member, form)


def _purchase_message(purchase):
    text = _("Purchase of %(amount)s recorded, receipt %(receipt)s.") % {
        "amount": format_money(purchase.amount, purchase.currency), "receipt": purchase.external_id}
    earned = _points_by_program(selectors.points_moved(
        purchase=purchase, kind__in=[LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS]))
    if not earned:
        return text + " " + _("It earned no points.")
    for membership, points in earned:
        text += " " + ngettext(
            "%(program)s: %(points)s point earned; %(balance)s.",
            "%(program)s: %(points)s points earned; %(balance)s.", points,
        ) % {"program": membership.program.name, "points": _n(points), "balance": _balance(membership)}
    return text


@staff_required("use_till")
@_member_action
def refund_purchase(request, member):
    purchase = selectors.member_purchase(member, request.POST.get(f"{RefundForm.prefix}-purchase"))
    form = RefundForm(request.POST, purchases=[purchase] if purchase else [])
    if form.is_valid():
        amount = form.cleaned_data["amount"] or purchase.left
        if not form.cleaned_data["amount"] and purchase.left <= 0:
            form.add_error("amount", _("This purchase is already refunded in full."))
        else:
            try:
                refund, created = services.refund_purchase(
                    purchase=purchase, external_id=form.cleaned_data["external_id"], amount=amount,
                    actor=request.user)
            except ValidationError as error:
                _show_errors(form, error)
            else:
                if created:
                    messages.success(request, _refund_message(refund, purchase))
                else:
                    messages.warning(request, _("Refund %(number)s was already recorded; nothing "
                                                "changed.") % {"number": refund.external_id})
                return redirect(_member_url(member))
    return _render_panel(request, member, form)


def _refund_message(refund, purchase):
    text = _("Refund of %(amount)s recorded for receipt %(receipt)s.") % {
        "amount": format_money(refund.amount, purchase.currency), "receipt": purchase.external_id}
    taken = _points_by_program(selectors.points_moved(refund=refund))
    if not taken:
        return text + " " + _("There were no points to take back.")
    for membership, points in taken:
        text += " " + ngettext(
            "%(program)s: %(points)s point taken back; %(balance)s.",
            "%(program)s: %(points)s points taken back; %(balance)s.", -points,
        ) % {"program": membership.program.name, "points": _n(-points), "balance": _balance(membership)}
    return text


@staff_required("use_till")
@_member_action
def redeem_reward(request, member):
    # Any reward available now is a valid choice: when the member cannot afford it (any more),
    # the service says so in words, rather than the form saying "not a valid choice".
    form = RedeemForm(request.POST, rewards=selectors.available_rewards())
    if form.is_valid():
        try:
            redemption = services.redeem_reward(member=member, reward=form.cleaned_data["reward"],
                                                actor=request.user)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            (membership, points), = _points_by_program(selectors.points_moved(redemption=redemption))
            messages.success(request, ngettext(
                "%(reward)s redeemed for %(points)s point; %(balance)s. Code %(code)s is ready: "
                "accept it below to give the reward now.",
                "%(reward)s redeemed for %(points)s points; %(balance)s. Code %(code)s is ready: "
                "accept it below to give the reward now.", -points,
            ) % {"reward": redemption.reward.name, "points": _n(-points),
                 "balance": _balance(membership), "code": redemption.display_code})
            return redirect(_member_url(member))
    return _render_panel(request, member, form)


@staff_required("use_till")
def accept_code(request):
    """Accept any member's reward code, once. Failures count against the person's limit, so
    that the till cannot be used to guess codes."""
    if request.method != "POST":
        return redirect("staff:till")
    form = CodeForm(request.POST)
    member = selectors.till_member(request.POST.get(f"{CodeForm.prefix}-member", ""))
    store = _current_store(request)
    who = request.user.pk
    if form.is_valid() and store is None:
        _no_store(form)
    elif form.is_valid() and TILL_CODE_LOOKUPS.is_exceeded(who):
        minutes = _retry_minutes(TILL_CODE_LOOKUPS)
        form.add_error("code", ngettext(
            "Too many codes were refused in the last few minutes. Try again in %(minutes)s minute.",
            "Too many codes were refused in the last few minutes. Try again in %(minutes)s minutes.",
            minutes) % {"minutes": minutes})
    elif form.is_valid():
        try:
            redemption = services.use_redemption(code=form.cleaned_data["code"], store=store,
                                                 actor=request.user)
        except ValidationError as error:
            TILL_CODE_LOOKUPS.hit(who)
            _show_errors(form, error)
        else:
            owner = redemption.membership.member
            messages.success(request, _("Code %(code)s accepted: give %(name)s the reward "
                                        "“%(reward)s”.") % {
                "code": redemption.display_code, "name": owner.user.get_full_name(),
                "reward": redemption.reward.name})
            return redirect(_member_url(member) if member else reverse("staff:till"))
    if member is not None:
        return _render_panel(request, member, form)
    _autofocus(form)
    search = SearchForm()
    search.fields["q"].widget.attrs.pop("autofocus")
    return _render_till(request, search=search, code_form=form)


def _pay_form(standing, data=None):
    return PayForm(data, programs=[row["program"] for row in standing
                                   if row["program"].point_value is not None],
                   available={row["program"].pk: row["available"] for row in standing})


@staff_required("use_till")
@_member_action
def pay_with_points(request, member):
    form = _pay_form(selectors.member_programs(member), request.POST)
    store = _current_store(request)
    if form.is_valid() and store is None:
        _no_store(form)
    elif form.is_valid():
        try:
            payment = services.pay_with_points(
                member=member, program=form.cleaned_data["program"],
                points=form.cleaned_data["points"], store=store, actor=request.user)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            (membership, points), = _points_by_program(selectors.points_moved(payment=payment))
            messages.success(request, ngettext(
                "%(points)s point paid %(value)s of the purchase. %(program)s: %(balance)s.",
                "%(points)s points paid %(value)s of the purchase. %(program)s: %(balance)s.",
                -points,
            ) % {"points": _n(-points), "value": format_money(payment.value),
                 "program": membership.program.name, "balance": _balance(membership)})
            return redirect(_member_url(member))
    return _render_panel(request, member, form)


@staff_required("adjust_points")
@_member_action
def adjust_points(request, member):
    """Add or take away points with a reason. The service enforces the cashier's limit."""
    standing = selectors.member_programs(member)
    form = AdjustForm(request.POST, programs=[row["program"] for row in standing])
    if form.is_valid():
        try:
            entry = services.adjust_points(
                member=member, program=form.cleaned_data["program"], points=form.signed_points(),
                reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            values = {"points": _n(abs(entry.points)), "program": entry.membership.program.name,
                      "balance": _balance(entry.membership)}
            if entry.points > 0:
                text = ngettext("%(points)s point added to %(program)s; %(balance)s.",
                                "%(points)s points added to %(program)s; %(balance)s.", entry.points)
            else:
                text = ngettext("%(points)s point taken away from %(program)s; %(balance)s.",
                                "%(points)s points taken away from %(program)s; %(balance)s.",
                                -entry.points)
            messages.success(request, text % values)
            return redirect(_member_url(member))
    return _render_panel(request, member, form)


@staff_required("manage_programs")
@_member_action
def set_tier(request, member):
    """A manager puts the member in a tier by hand, with a reason."""
    form = TierForm(request.POST, tier_list=selectors.active_tiers())
    if form.is_valid():
        program, tier = form.chosen()
        try:
            change = services.set_member_tier(member=member, program=program, tier=tier,
                                              reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            if change is None:
                messages.info(request, _("The member is in that tier already; nothing changed."))
            elif tier is None:
                messages.success(request, _("%(program)s: the member has no tier now.")
                                 % {"program": program.name})
            else:
                messages.success(request, _("%(program)s: the member is in %(tier)s now.")
                                 % {"program": program.name, "tier": tier.display_name()})
            return redirect(_member_url(member))
    return _render_panel(request, member, form)

"""Reads of the programs core."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, models
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Replace, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from . import tiers
from .member_numbers import is_valid_member_number
from .models import (
    EarningRule,
    LedgerEntry,
    Member,
    Membership,
    Plan,
    PointLot,
    Program,
    Purchase,
    Redemption,
    Refund,
    Reward,
    Store,
    Subscription,
    Tier,
)
from .points import normalise_code, plan_names


def member_for_user(user):
    """The person's member card, or None when they have none (staff, say)."""
    return Member.objects.filter(user=user).first()


def shop_overview(*, with_revenue, days=30):
    """Headline figures for the staff home: members, and purchases in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    recent = Purchase.objects.filter(occurred_at__gte=since)
    figures = recent.aggregate(
        purchases=Count("pk"), buyers=Count("member", distinct=True), revenue=Sum("amount")
    )
    overview = {
        "days": days,
        "members": Member.objects.count(),
        "new_members": Member.objects.filter(joined_at__gte=since).count(),
        "purchases": figures["purchases"],
        "buyers": figures["buyers"],
        "stores": Store.objects.filter(is_active=True).count(),
    }
    if with_revenue:
        overview["revenue"] = figures["revenue"] or Decimal("0")
    return overview


def ledger_breaches():
    """Every membership whose cached totals disagree with its entries and lots.

    The invariant: balance = sum of entries = sum of lots' remaining - points owed;
    pending = remaining of pending lots; no lot below zero; points owed only when the lots are
    empty (the next points pay them off). Yields one dict per breach.
    """
    membership = Membership._meta.db_table
    entry = LedgerEntry._meta.db_table
    lot = PointLot._meta.db_table
    query = f"""
        SELECT m.id, m.balance, m.pending, m.points_owed,
               COALESCE(e.total, 0), COALESCE(l.total, 0), COALESCE(l.pending, 0),
               COALESCE(l.lowest, 0)
        FROM {membership} m
        LEFT JOIN (SELECT membership_id, SUM(points) AS total FROM {entry}
                   GROUP BY membership_id) e ON e.membership_id = m.id
        LEFT JOIN (SELECT membership_id, SUM(remaining) AS total,
                          SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending,
                          MIN(remaining) AS lowest
                   FROM {lot} GROUP BY membership_id) l ON l.membership_id = m.id
        WHERE m.balance <> COALESCE(e.total, 0)
           OR m.balance <> COALESCE(l.total, 0) - m.points_owed
           OR m.pending <> COALESCE(l.pending, 0)
           OR COALESCE(l.lowest, 0) < 0
           OR (m.points_owed > 0 AND COALESCE(l.total, 0) > 0)
        ORDER BY m.id
    """  # noqa: S608 - table names from the models, no input
    with connection.cursor() as cursor:
        cursor.execute(query)
        for row in cursor.fetchall():
            (membership_id, balance, pending, owed, entries, lots, lots_pending, lowest) = row
            yield {
                "membership": membership_id, "balance": balance, "entries": entries,
                "lots": lots, "owed": owed, "pending": pending, "lots_pending": lots_pending,
                "lowest_lot": lowest,
            }


# --- For the integration API and the till ---------------------------------------------------


def open_members():
    """Cards the till, the API and searches may find: every card but those of closed accounts."""
    return Member.objects.select_related("user").filter(closed_at__isnull=True)


def member_by_number(number):
    """The member with this card number, typed with or without spaces; None when there is none."""
    number = "".join(str(number or "").split()).replace("-", "")
    if not number.isdigit():
        return None
    # The number is unique: no ordering to build.
    return next(iter(open_members().filter(number=number).order_by()[:1]), None)


def member_by_reference(reference):
    """The member a till names by card number or by email (any case); None when there is none."""
    reference = str(reference or "").strip()
    if "@" in reference:
        return open_members().filter(user__email__iexact=reference).first()
    return member_by_number(reference)


def member_programs(member):
    """The member's standing in each program: every active program, and any other they hold
    points in. A list of dicts with the program, balance, available, pending, owed (points a
    refund took back after they were spent), the points expiring next and the pending points
    that become spendable first (each {"points", "date"} in the shop's time zone, or None).

    Three queries whatever the number of lots: memberships, programs, and the live lots summed
    by membership and local day.
    """
    memberships = {m.program_id: m for m in
                   Membership.objects.filter(member=member).select_related("program", "tier")}
    programs = {p.pk: p for p in Program.objects.filter(is_active=True)}
    programs.update({m.program_id: m.program for m in memberships.values()})

    # Days are counted in the shop's time zone (the active one): a lot expiring at 23:00 and
    # one at 01:00 the next morning are on different days.
    expiring, pending_next = {}, {}
    for row in (PointLot.objects.filter(membership__member=member, remaining__gt=0)
                .annotate(expires=TruncDate("expires_at"), available=TruncDate("available_at"))
                .values("membership_id", "is_pending", "expires", "available")
                .annotate(points=Sum("remaining")).order_by()):
        if row["expires"] is not None:
            _add_to_first_day(expiring, row["membership_id"], row["expires"], row["points"])
        if row["is_pending"]:
            _add_to_first_day(pending_next, row["membership_id"], row["available"], row["points"])

    standing = []
    for program in sorted(programs.values(), key=lambda p: (p.name, p.pk)):
        membership = memberships.get(program.pk)
        standing.append({
            "program": program,
            "balance": membership.balance if membership else 0,
            "available": membership.available if membership else 0,
            "pending": membership.pending if membership else 0,
            "owed": membership.points_owed if membership else 0,
            "expiring_next": expiring.get(membership.pk) if membership else None,
            "pending_next": pending_next.get(membership.pk) if membership else None,
            "tier": membership.tier if membership else None,
        })
    return standing


def _add_to_first_day(firsts, key, day, points):
    """Keep in `firsts[key]` the points of the earliest `day` seen: {"points", "date"}."""
    first = firsts.get(key)
    if first is None or day < first["date"]:
        firsts[key] = {"points": points, "date": day}
    elif day == first["date"]:
        first["points"] += points


def balances_by_program(member):
    """{program slug: balance} over the programs the member holds points in."""
    return dict(sorted(Membership.objects.filter(member=member).order_by()
                       .values_list("program__slug", "balance")))


def points_earned_by_purchase(purchase):
    """{program slug: points} the purchase earned (refunds not subtracted)."""
    return dict(LedgerEntry.objects.filter(
        purchase=purchase, kind__in=[LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS],
    ).values("membership__program__slug").annotate(points=Sum("points"))
        .values_list("membership__program__slug", "points").order_by("membership__program__slug"))


def points_reversed_by_refund(refund):
    """{program slug: points} the refund took back, as positive numbers."""
    return {slug: -points for slug, points in LedgerEntry.objects.filter(
        refund=refund, kind=LedgerEntry.Kind.REVERSE,
    ).values("membership__program__slug").annotate(points=Sum("points"))
        .values_list("membership__program__slug", "points").order_by("membership__program__slug")}


def store_purchase(store, external_id):
    """The purchase a store reported under this receipt number; None for another store's."""
    return (Purchase.objects.select_related("member", "store")
            .filter(store=store, external_id=external_id).first())


def available_rewards(*, now=None):
    """Rewards a member could redeem now (stock aside), in catalog order."""
    now = now or timezone.now()
    return (Reward.objects.filter(is_active=True, program__is_active=True)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
            .select_related("program", "minimum_tier").order_by("program__name", "cost", "name", "pk"))


def reward_by_id(reward_id):
    """The reward with this id, whatever its state (redeeming it says why it is not available)."""
    try:
        reward_id = int(reward_id)
    except (TypeError, ValueError):
        return None
    return Reward.objects.select_related("program").filter(pk=reward_id).first()


def redemption_by_code(code):
    """The redemption a code (as typed: any case, dashes or not) belongs to, or None."""
    return (Redemption.objects.select_related("reward", "membership__member")
            .filter(code=normalise_code(code)).first())


# --- For the member portal -------------------------------------------------------------------
# Every function here takes the signed-in member and reads only what is theirs; a lookup by id
# answers None for another member's object exactly as for one that does not exist.


def points_overview(member, *, now=None):
    """member_programs(member), each with `affordable` added: how many rewards of the program
    the member can redeem now (their tier and plans allowing).

    Five queries whatever the data: member_programs' three, the rewards and the plan-only
    rewards the member cannot redeem.
    """
    now = now or timezone.now()
    standing = member_programs(member)
    costs = {}
    plan_locked = set(plan_locked_rewards(member, now=now))
    for reward_id, program_id, cost, stock, rank in available_rewards(now=now).values_list(
            "pk", "program_id", "cost", "stock", "minimum_tier__rank"):
        if stock != 0 and reward_id not in plan_locked:
            costs.setdefault(program_id, []).append((cost, rank))
    for row in standing:
        tier_rank = row["tier"].rank if row["tier"] else -1
        row["affordable"] = sum(cost <= row["available"] and (rank is None or rank <= tier_rank)
                                for cost, rank in costs.get(row["program"].pk, []))
    return standing


def ready_codes_count(member, *, now=None):
    """How many of the member's reward codes can be used at the till now."""
    now = now or timezone.now()
    return Redemption.objects.filter(membership__member=member, status=Redemption.Status.ISSUED,
                                     expires_at__gte=now).count()


def member_memberships(member):
    """The programs the member holds points in, by name."""
    return list(Membership.objects.filter(member=member).select_related("program")
                .order_by("program__name", "program_id"))


def points_history(member, *, program=None):
    """The member's ledger entries, newest first, with everything entry_cause() reads joined in
    (one query per page whatever the kinds). `program` narrows it to one program."""
    entries = (LedgerEntry.objects.filter(membership__member=member)
               .select_related("membership__program", "purchase__store", "redemption__reward",
                               "payment__store", "lot")
               .order_by("-created_at", "-pk"))
    if program is not None:
        entries = entries.filter(membership__program=program)
    return entries


def entry_cause(entry):
    """What caused a ledger entry, in words a member understands: "Purchase at Main Street,
    receipt R-1", "Reward: Coffee", "Expired", "Adjusted by staff: <reason>". Reads only the
    relations points_history() joins in."""
    kind = LedgerEntry.Kind
    purchase = entry.purchase
    if entry.kind == kind.EARN and purchase is not None:
        return _("Purchase at %(store)s, receipt %(receipt)s") % {
            "store": purchase.store.name, "receipt": purchase.external_id}
    if entry.kind == kind.REVERSE and purchase is not None:
        return _("Refund at %(store)s, receipt %(receipt)s") % {
            "store": purchase.store.name, "receipt": purchase.external_id}
    if entry.kind == kind.REDEEM and entry.redemption is not None:
        return _("Reward: %(reward)s") % {"reward": entry.redemption.reward.name}
    if entry.kind == kind.CANCEL and entry.redemption is not None:
        return _("Reward cancelled, points returned: %(reward)s") % {
            "reward": entry.redemption.reward.name}
    if entry.kind == kind.PAY and entry.payment is not None:
        return _("Paid with points at %(store)s") % {"store": entry.payment.store.name}
    if entry.kind == kind.ADJUST:
        return _("Adjusted by staff: %(reason)s") % {"reason": entry.reason}
    if entry.kind == kind.BONUS and entry.reason:
        return _("Bonus: %(reason)s") % {"reason": entry.reason}
    return entry.get_kind_display()


def _catalog_row(reward, available, membership):
    in_stock = reward.stock is None or reward.stock > 0
    missing = max(reward.cost - available, 0)
    # A reward for a higher tier, or for a plan's subscribers, is shown with what it needs,
    # but cannot be redeemed.
    tier_locked = (reward.minimum_tier is not None
                   and reward.minimum_tier.rank > _tier_rank(membership))
    plans = list(reward.plans.all())
    plan_locked = bool(plans) and (membership is None or membership.benefit_plan_id not in
                                   {plan.pk for plan in plans})
    return {
        "reward": reward,
        "in_stock": in_stock,
        "affordable": missing == 0,
        "tier_locked": tier_locked,
        "plans": plan_names(plans) if plans else "",
        "plan_locked": plan_locked,
        "can_redeem": in_stock and missing == 0 and not tier_locked and not plan_locked,
        "missing": missing,
        # Whole per cent, integer arithmetic: how far the member is towards this reward.
        "progress": min(max(available, 0) * 100 // reward.cost, 100),
    }


def reward_catalog(member, *, now=None):
    """The rewards the member can redeem now (active, within their dates), per program, each
    with what the member can do: a list of {"program", "available", "rewards": [row]}, where a
    row is {"reward", "in_stock", "affordable", "tier_locked" (for a higher tier than the
    member's), "plans" (the plans a plan-only reward is for, in words, or ""), "plan_locked"
    (for subscribers of plans the member has no live subscription to), "can_redeem", "missing"
    (points still needed), "progress" (0-100)}. Three queries whatever the size of the
    catalog."""
    now = now or timezone.now()
    memberships = {m.program_id: m for m in _memberships_with_plan(member, now)}
    catalog = {}
    for reward in available_rewards(now=now).prefetch_related("plans"):
        membership = memberships.get(reward.program_id)
        points = membership.available if membership else 0
        group = catalog.setdefault(reward.program_id, {
            "program": reward.program, "available": points, "rewards": []})
        group["rewards"].append(_catalog_row(reward, points, membership))
    return list(catalog.values())


def _memberships_with_plan(member, now):
    """The member's memberships with their tier and `benefit_plan_id`: the plan of the
    subscription whose benefits apply now (one at most per membership), or None."""
    plan = Subscription.objects.giving_benefits(now).filter(membership=OuterRef("pk"))
    return Membership.objects.filter(member=member).select_related("tier").annotate(
        benefit_plan_id=Subquery(plan.values("plan_id")[:1]))


def plan_locked_rewards(member, *, now=None):
    """Ids of the plan-only rewards the member cannot redeem now: none of their plans is one
    the member has a subscription to whose benefits apply. One query."""
    now = now or timezone.now()
    theirs = Subscription.objects.giving_benefits(now).filter(membership__member=member)
    return (Reward.objects.filter(plans__isnull=False)
            .exclude(plans__subscriptions__in=theirs).values_list("pk", flat=True).distinct())


def _tier_rank(membership):
    return membership.tier.rank if membership is not None and membership.tier_id else -1


def catalog_reward(member, reward_id, *, now=None):
    """One row of reward_catalog() for the reward with this id, or None when the member cannot
    see it (no such reward, inactive, its program inactive, outside its dates)."""
    try:
        reward_id = int(reward_id)
    except (TypeError, ValueError):
        return None
    now = now or timezone.now()
    reward = available_rewards(now=now).prefetch_related("plans").filter(pk=reward_id).first()
    if reward is None:
        return None
    membership = _memberships_with_plan(member, now).filter(program=reward.program_id).first()
    row = _catalog_row(reward, membership.available if membership else 0, membership)
    row["available"] = membership.available if membership else 0
    return row


def redemption_state(redemption, now):
    """"issued", "used", "cancelled" or "expired": an issued code past its date is expired,
    though nothing has written that down."""
    if redemption.status == Redemption.Status.ISSUED and redemption.expires_at < now:
        return "expired"
    return redemption.status


# Used, cancelled and expired codes listed under the ready ones: the latest few are enough.
PAST_CODES_SHOWN = 50


def member_redemptions(member, *, now=None):
    """The member's reward codes: {"ready": codes the till accepts now, soonest to expire first;
    "past": the latest PAST_CODES_SHOWN used, cancelled or expired ones}. Each has `state` set
    (see redemption_state). Two queries."""
    now = now or timezone.now()
    mine = (Redemption.objects.filter(membership__member=member)
            .select_related("reward", "membership__program", "used_store"))
    ready_filter = Q(status=Redemption.Status.ISSUED, expires_at__gte=now)
    ready = list(mine.filter(ready_filter).order_by("expires_at", "pk"))
    past = list(mine.exclude(ready_filter).order_by("-created_at", "-pk")[:PAST_CODES_SHOWN])
    for redemption in [*ready, *past]:
        redemption.state = redemption_state(redemption, now)
    return {"ready": ready, "past": past}


def member_redemption(member, redemption_id, *, now=None):
    """The member's own redemption with this id, `state` set; None for another member's."""
    try:
        redemption_id = int(redemption_id)
    except (TypeError, ValueError):
        return None
    redemption = (Redemption.objects.filter(membership__member=member, pk=redemption_id)
                  .select_related("reward", "membership__program", "used_store").first())
    if redemption is not None:
        redemption.state = redemption_state(redemption, now or timezone.now())
    return redemption


# --- For the till screen ---------------------------------------------------------------------
# Staff with the till permission may look up any member; the views check that permission.

MEMBER_SEARCH_LIMIT = 20
# A phone number is matched on its last nine significant digits, so that "070-123 45 67",
# "+46 70 123 45 67" and "0046701234567" find the same person; six digits at least, so that a
# short fragment does not list half the shop.
PHONE_DIGITS_COMPARED = 9
PHONE_DIGITS_MINIMUM = 6
PHONE_PUNCTUATION = " -().+/"


def _compact(query):
    """The query without spaces and dashes, as a card number is read out or scanned."""
    return "".join(str(query or "").split()).replace("-", "")


def mistyped_member_number(query):
    """True when the query is ten digits whose check digit does not match: a mistyped card
    number rather than an unknown one."""
    number = _compact(query)
    return len(number) == 10 and number.isdigit() and not is_valid_member_number(number)


def _phone_key(query):
    """The digits a phone search compares, or None when the query is not a phone number."""
    text = str(query or "").strip()
    if not text or any(not (char.isdigit() or char in PHONE_PUNCTUATION) for char in text):
        return None
    digits = "".join(char for char in text if char.isdigit()).lstrip("0")
    if len(digits) < PHONE_DIGITS_MINIMUM:
        return None
    return digits[-PHONE_DIGITS_COMPARED:]


def _phone_digits():
    expression = models.F("user__phone")
    for char in PHONE_PUNCTUATION:
        expression = Replace(expression, models.Value(char), models.Value(""))
    return expression


def find_members(query, *, limit=MEMBER_SEARCH_LIMIT):
    """The members a till search names, best match first: by card number (spaces or dashes
    allowed; only a number whose check digit matches), by email address (any case), or by phone
    number (any punctuation, national or international form).

    A list of at most `limit` members with their user, empty when nothing matches. At most two
    queries. The phone search compares digits inside the database and cannot use an index; fine
    for a shop's members, and the number and email searches come first.
    """
    query = str(query or "").strip()[:200]
    found = []
    members = open_members()
    number = _compact(query)
    if len(number) == 10 and is_valid_member_number(number):
        found.extend(members.filter(number=number))
    elif "@" in query:
        found.extend(members.filter(user__email__iexact=query)[:limit])
    phone = _phone_key(query)
    if phone and len(found) < limit:
        found.extend(members.annotate(phone_digits=_phone_digits())
                     .filter(phone_digits__endswith=phone).exclude(pk__in=[m.pk for m in found])
                     .order_by("user__name", "pk")[:limit - len(found)])
    return found


def till_member(number):
    """The member with this card number for the till's member panel, or None."""
    return open_members().filter(number=_compact(number)).first()


def till_stores():
    """The stores a member of staff can work at, by name."""
    return Store.objects.filter(is_active=True).order_by("name", "pk")


def till_store(store_id):
    """The active store with this id, or None."""
    try:
        store_id = int(store_id)
    except (TypeError, ValueError):
        return None
    return Store.objects.filter(is_active=True, pk=store_id).first()


def _purchases_with_refunds():
    refunded = (Refund.objects.filter(purchase=models.OuterRef("pk")).values("purchase")
                .annotate(total=Sum("amount")).values("total"))
    return Purchase.objects.select_related("store").annotate(
        refunded=Coalesce(models.Subquery(refunded), Decimal(0), output_field=models.DecimalField()),
    )


def member_purchases(member, *, limit=10):
    """The member's latest purchases, newest first, each with `refunded` (money refunded so
    far), `left` (what may still be refunded) and `earned`: [(program name, points)] the
    purchase earned, refunds not subtracted. Two queries."""
    purchases = list(_purchases_with_refunds().filter(member=member)
                     .order_by("-occurred_at", "-pk")[:limit])
    earned = {}
    if purchases:
        rows = (LedgerEntry.objects
                .filter(purchase__in=purchases, kind__in=[LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS])
                .values_list("purchase_id", "membership__program__name")
                .annotate(points=Sum("points")).order_by("purchase_id", "membership__program__name"))
        for purchase_id, program, points in rows:
            earned.setdefault(purchase_id, []).append((program, points))
    for purchase in purchases:
        purchase.left = purchase.amount - purchase.refunded
        purchase.earned = earned.get(purchase.pk, [])
    return purchases


def member_purchase(member, purchase_id):
    """The member's purchase with this id, with `refunded` and `left` as in member_purchases();
    None for another member's purchase or no purchase at all."""
    try:
        purchase_id = int(purchase_id)
    except (TypeError, ValueError):
        return None
    purchase = _purchases_with_refunds().filter(member=member, pk=purchase_id).first()
    if purchase is not None:
        purchase.left = purchase.amount - purchase.refunded
    return purchase


def till_codes(member, *, now=None, limit=10):
    """The member's reward codes the till may accept now, soonest to expire first, and the
    latest others: {"ready": [...], "past": [...]}, at most `limit` of each, each with `state`:
    "issued", "used", "cancelled" or "expired" (issued, but past its date). Two queries."""
    now = now or timezone.now()
    codes = (Redemption.objects.filter(membership__member=member)
             .select_related("reward", "membership__program", "used_store"))
    ready_filter = Q(status=Redemption.Status.ISSUED, expires_at__gte=now)
    ready = list(codes.filter(ready_filter).order_by("expires_at", "pk")[:limit])
    past = list(codes.exclude(ready_filter).order_by("-created_at", "-pk")[:limit])
    for redemption in ready:
        redemption.state = redemption.status
    for redemption in past:
        issued = redemption.status == Redemption.Status.ISSUED
        redemption.state = "expired" if issued else redemption.status
    return {"ready": ready, "past": past}


def affordable_rewards(standing, *, now=None):
    """The rewards available now that the member can pay for from what they have available,
    in catalog order; `standing` is member_programs(member). One query."""
    available = {row["program"].pk: row["available"] for row in standing}
    return [reward for reward in available_rewards(now=now)
            if reward.stock != 0 and reward.cost <= available.get(reward.program_id, 0)]


def points_moved(**cause):
    """The ledger entries a purchase, refund, redemption or payment made (pass it as
    purchase=, refund=, …), each with its membership and program as they are now. One query."""
    return list(LedgerEntry.objects.filter(**cause).select_related("membership__program")
                .order_by("membership__program__name", "pk"))


# --- For the staff members list and a member's page ------------------------------------------
# Staff who may read the metrics may look up any member; the views check that permission.

MEMBER_SORTS = {
    "newest": ("-joined_at", "-pk"),
    "oldest": ("joined_at", "pk"),
    "name": ("user__name", "pk"),
    "number": ("number",),
    "email": ("user__email", "pk"),
}


def member_directory(query="", *, sort="newest"):
    """Members matching `query` (part of a card number, email, name or phone number; empty for
    everyone), ordered by one of MEMBER_SORTS (unknown sorts fall back to newest first), with
    their user. A queryset to paginate; see member_balances() for the page's balances."""
    order = MEMBER_SORTS.get(sort, MEMBER_SORTS["newest"])
    members = Member.objects.select_related("user").order_by(*order)
    query = str(query or "").strip()[:200]
    if not query:
        return members
    matches = Q(user__email__icontains=query) | Q(user__name__icontains=query)
    number = _compact(query)
    if number.isdigit():
        matches |= Q(number__startswith=number)
    phone = _phone_key(query)
    if phone:
        members = members.annotate(phone_digits=_phone_digits())
        matches |= Q(phone_digits__endswith=phone)
    return members.filter(matches)


def member_balances(members):
    """{member id: total points across programs} for a page of members. One query."""
    return dict(Membership.objects.filter(member__in=[m.pk for m in members])
                .values_list("member_id").annotate(total=Sum("balance")).order_by())


# --- Tiers -----------------------------------------------------------------------------------


def tier_progress(member, *, now=None):
    """The member's standing in each program that has tiers, for the portal's tier card: a list
    of {"program", "tier" (or None), "since", "grace_until", "amount" (points or money in the
    window so far), "window_start" (a date), "next" (the next tier, or None at the top),
    "missing" (what the next tier still needs; "missing_points" as a whole number), "progress"
    (0-100), "rewards" (the next tier's own rewards)}. One query when no program has tiers;
    otherwise three, and one per program with tiers."""
    now = now or timezone.now()
    programs, by_program = {}, {}
    for tier in (Tier.objects.filter(program__is_active=True).select_related("program")
                 .order_by("program_id", "rank")):
        programs[tier.program_id] = tier.program
        by_program.setdefault(tier.program_id, []).append(tier)
    if not programs:
        return []
    memberships = {m.program_id: m for m in Membership.objects.filter(
        member=member, program__in=list(programs)).select_related("program", "tier")}
    rows = []
    for program in sorted(programs.values(), key=lambda p: (p.name, p.pk)):
        membership = memberships.get(program.pk)
        amount = tiers.qualifying_amount(membership, now) if membership else 0
        current = membership.tier if membership else None
        goal = tiers.next_tier(by_program[program.pk], current)
        missing = max(goal.threshold - amount, 0) if goal else 0
        rows.append({
            "program": program, "tier": current, "amount": amount,
            "since": membership.tier_since if membership else None,
            "grace_until": membership.tier_grace_until if membership else None,
            "window_start": timezone.localdate(tiers.window(program, now)[0]),
            "next": goal, "missing": missing, "missing_points": int(missing),
            "progress": (min(max(int(amount * 100 // goal.threshold), 0), 100)
                         if goal and goal.threshold else 100),
            "rewards": [],
        })
    goals = {row["next"].pk: row for row in rows if row["next"]}
    for reward in available_rewards(now=now).filter(minimum_tier__in=list(goals)):
        goals[reward.minimum_tier_id]["rewards"].append(reward)
    return rows


def active_tiers():
    """Every tier of the active programs, with its program, by program name and rank."""
    return list(Tier.objects.filter(program__is_active=True).select_related("program")
                .order_by("program__name", "program_id", "rank"))


def needs_first_run_setup():
    """True while the shop has no store or no program: the first-run setup is not done."""
    return not (Store.objects.exists() and Program.objects.exists())


COUNTER_REWARDS = 3


def counter_rules(program, at=None):
    """What a poster at the counter says about `program`: the earning rule in force, the
    cheapest rewards, the tiers and the paid plans. Four queries."""
    at = at or timezone.now()
    return {
        "program": program,
        "rule": (EarningRule.objects.filter(program=program, effective_from__lte=at)
                 .order_by("-effective_from", "-version").first()),
        "rewards": list(Reward.objects.filter(program=program, is_active=True, minimum_tier=None)
                        .order_by("cost", "name")[:COUNTER_REWARDS]),
        "tiers": list(Tier.objects.filter(program=program).order_by("rank")),
        "plans": list(Plan.objects.filter(program=program, is_active=True).order_by("price")),
    }


def signup_store(code):
    """The active store a sign-up came through (a poster's or an embedded form's `store`), or None."""
    code = (code or "").strip()
    return Store.objects.filter(code=code, is_active=True).first() if code else None

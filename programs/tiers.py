"""Tiers: which level of a program a member has reached, and the moves between levels.

A program's tiers are reached by points earned (never the balance; redemptions never count) or
by money spent net of refunds, within a qualification window: the last 12 months or the
calendar year, with edges at midnight in the shop's time zone (settings.TIME_ZONE).

- A purchase that crosses a threshold upgrades the member in its own transaction
  (`upgrade_if_qualified`, called by programs.purchases.record_purchase under the lock).
- Only the scheduled re-evaluation (`reevaluate_tiers`) moves a member down, after the
  program's grace period; it also catches up upgrades that did not come from a purchase.
- Every move is a TierChange row with its reason, and the member is emailed about it.

docs/tiers.md explains the rules in the shop's words.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.models import EmailCategory
from loyalty_site.roles import perm
from loyalty_site.services import absolute_url, log_staff_action, queue_email

from . import ledger, signals
from .models import LedgerEntry, Membership, Program, Purchase, Refund, Tier, TierChange

ENTRY = LedgerEntry._meta.db_table
MEMBERSHIP = Membership._meta.db_table
PURCHASE = Purchase._meta.db_table
REFUND = Refund._meta.db_table

# Memberships re-evaluated per transaction: small enough that a till never waits long on a lock.
BATCH = 5000
# A window's end is exclusive; the current window ends just after `at`, so that a purchase
# recorded at `at` itself (in the same transaction) counts.
MOMENT = timedelta(microseconds=1)
# "Close to the next tier": the member has reached this share of the next tier's threshold.
CLOSE_TO_NEXT_TIER = Decimal("0.8")
MAX_TIERS = 10
MAX_GRACE_DAYS = 366


# --- Windows and amounts ---------------------------------------------------------------------


def _local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def window(program, at):
    """(start, end) of the qualification window as of `at`: start inclusive, at midnight in
    the shop's time zone (1 January, or the same date a year ago); end exclusive, just after
    `at`."""
    today = timezone.localdate(at)
    if program.tier_window == Program.TierWindow.CALENDAR:
        start_day = today.replace(month=1, day=1)
    else:
        start_day = today - relativedelta(years=1)
    return _local_midnight(start_day), at + MOMENT


def previous_window(program, at):
    """The whole calendar year before `at`'s, for calendar-year programs (a tier reached in a
    year is kept through the next); None for rolling windows, which have no 'previous'."""
    if program.tier_window != Program.TierWindow.CALENDAR:
        return None
    year = timezone.localdate(at).year
    return (_local_midnight(datetime(year - 1, 1, 1).date()),
            _local_midnight(datetime(year, 1, 1).date()))


# Points earned in the window: earn and bonus entries by when they were made, minus what refunds
# took back of the purchases recorded in the window (so a refund in January of a December
# purchase lowers December's year, where those points were counted).
POINTS_SQL = f"""
    SELECT m.id AS membership_id, SUM(e.points) AS amount
    FROM {MEMBERSHIP} m
    JOIN {ENTRY} e ON e.membership_id = m.id
    LEFT JOIN {PURCHASE} p ON p.id = e.purchase_id AND e.kind = 'reverse'
    WHERE m.program_id = %(program)s AND m.id BETWEEN %(first)s AND %(last)s
      AND ((e.kind IN ('earn', 'bonus') AND e.created_at >= %(start)s AND e.created_at < %(end)s)
        OR (e.kind = 'reverse' AND p.recorded_at >= %(start)s AND p.recorded_at < %(end)s))
    GROUP BY m.id
"""  # noqa: S608 - table names from the models, values as parameters

# Money spent in the window: purchases by when they happened, less what was refunded of them.
SPEND_SQL = f"""
    SELECT m.id AS membership_id, SUM(p.amount - COALESCE(
        (SELECT SUM(r.amount) FROM {REFUND} r WHERE r.purchase_id = p.id), 0)) AS amount
    FROM {MEMBERSHIP} m
    JOIN {PURCHASE} p ON p.member_id = m.member_id
    WHERE m.program_id = %(program)s AND m.id BETWEEN %(first)s AND %(last)s
      AND p.occurred_at >= %(start)s AND p.occurred_at < %(end)s
    GROUP BY m.id
"""  # noqa: S608


def _as_amount(program, value):
    if program.tier_basis == Program.TierBasis.POINTS:
        return int(value or 0)
    # SQLite (the embedded default) sums decimals as floats: back to cents.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _moment(value):
    # As the database stores it: SQLite, the embedded default, compares UTC text.
    return connection.ops.adapt_datetimefield_value(value)


def amounts(program, start, end, first, last):
    """{membership id: qualifying amount} for the program's memberships with ids first..last
    that have any, in [start, end). One query."""
    sql = POINTS_SQL if program.tier_basis == Program.TierBasis.POINTS else SPEND_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, {"program": program.pk, "first": first, "last": last,
                             "start": _moment(start), "end": _moment(end)})
        return {membership_id: _as_amount(program, value) for membership_id, value in cursor.fetchall()}


def qualifying_amount(membership, at):
    """Points earned (net of refunds) or money spent (net of refunds) in the membership's
    current window as of `at`: an int of points, or a Decimal of money. One query."""
    program = membership.program
    start, end = window(program, at)
    return amounts(program, start, end, membership.pk, membership.pk).get(
        membership.pk, _as_amount(program, 0))


def program_tiers(program):
    """The program's tiers, lowest first."""
    return list(Tier.objects.filter(program=program).order_by("rank"))


def tier_for(tiers, amount):
    """The highest of `tiers` (lowest first) whose threshold `amount` reaches, or None."""
    reached = None
    for tier in tiers:
        if amount >= tier.threshold:
            reached = tier
    return reached


def next_tier(tiers, current):
    """The tier after `current` (the lowest when None), or None at the top."""
    rank = current.rank if current is not None else -1
    return next((tier for tier in tiers if tier.rank > rank), None)


def earning_multiplier(membership):
    """The member's tier multiplier in the program (1 without a tier)."""
    return membership.tier.multiplier if membership.tier_id else Decimal(1)


def reaches(membership, tier):
    """True when the member's tier is `tier` or above (always, for no `tier`)."""
    if tier is None:
        return True
    return membership.tier_id is not None and membership.tier.rank >= tier.rank


def earning_note(membership):
    """What an earn entry records of the tier it was earned in ("Gold ×1.50"), so that the
    multiplier used stays on the ledger whatever the tier's settings become; "" without one."""
    if not membership.tier_id or membership.tier.multiplier == 1:
        return ""
    return f"{membership.tier.name} ×{membership.tier.multiplier}"


# --- Moving members --------------------------------------------------------------------------


def _notify(change):
    """Email the member about a tier change (reminders category: members who turned reminders
    off get none). One email per membership, tier and day, whatever re-runs."""
    membership = change.membership
    user = membership.member.user
    upgraded = change.to_tier is not None and (
        change.from_tier is None or change.to_tier.rank > change.from_tier.rank)
    return queue_email(
        to=user.email, template="tier_upgraded" if upgraded else "tier_downgraded",
        category=EmailCategory.REMINDERS, user=user,
        dedupe_key=(f"tier-change:{membership.pk}:{change.to_tier_id or 0}:"
                    f"{timezone.localdate(change.created_at):%Y-%m-%d}"),
        context={"membership": membership, "tier": change.to_tier, "previous": change.from_tier,
                 "program": membership.program, "balance": membership.available,
                 "portal_url": absolute_url(reverse("portal:home"))},
    )


def _move(membership, tiers, target, *, reason, amount, now, actor=None):
    current = next((tier for tier in tiers if tier.pk == membership.tier_id), None)
    membership.tier = target
    membership.tier_since = now
    membership.tier_grace_until = None
    membership.save(update_fields=["tier", "tier_since", "tier_grace_until"])
    change = TierChange.objects.create(membership=membership, from_tier=current, to_tier=target,
                                       reason=reason, amount=amount, actor=actor, created_at=now)
    _notify(change)
    signals.tier_changed.send(sender=TierChange, changes=[change])
    return change


def upgrade_if_qualified(membership, tiers, now):
    """Move the member up to the highest tier their window's amount reaches, at once.

    Call inside the transaction that holds the membership's lock, after the points are
    credited. Never moves anyone down (that is the re-evaluation's job), but a member in their
    grace period who qualifies again keeps their tier for good. `tiers` are the program's,
    lowest first. Returns the TierChange or None.
    """
    if not tiers:
        return None
    amount = qualifying_amount(membership, now)
    target = tier_for(tiers, amount)
    current = next((tier for tier in tiers if tier.pk == membership.tier_id), None)
    if target is not None and (current is None or target.rank > current.rank):
        return _move(membership, tiers, target, reason=TierChange.Reason.PURCHASE,
                     amount=amount, now=now)
    if membership.tier_grace_until and target == current:
        membership.tier_grace_until = None
        membership.save(update_fields=["tier_grace_until"])
    return None


@transaction.atomic
def set_member_tier(*, member, program, tier, reason, actor, now=None):
    """Put a member in a tier by hand (or in none), with a reason, logged with who did it.

    The member keeps a tier set above what they qualify for for the program's grace period,
    counted from now; then the re-evaluation moves them to the tier their amount reaches.
    Returns the TierChange, or None when the member is in that tier already. Raises
    PermissionDenied without the manage_programs permission, ValidationError for a tier of
    another program or a missing reason; nothing is written then.
    """
    now = now or timezone.now()
    if not actor.has_perm(perm("manage_programs")):
        raise PermissionDenied
    if tier is not None and tier.program_id != program.pk:
        raise ValidationError({"tier": _("Choose a tier of %(program)s.") % {"program": program.name}})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why, so that the next person understands.")})
    membership = ledger.lock_memberships(member, [program])[program.pk]
    if membership.tier_id == (tier.pk if tier else None):
        return None
    tier_list = program_tiers(program)
    amount = qualifying_amount(membership, now)
    change = _move(membership, tier_list, tier, reason=TierChange.Reason.STAFF, amount=amount,
                   now=now, actor=actor)
    reached = tier_for(tier_list, amount)
    if tier is not None and (reached is None or reached.rank < tier.rank):
        membership.tier_grace_until = now + timedelta(days=program.tier_grace_days)
        membership.save(update_fields=["tier_grace_until"])
    log_staff_action(actor=actor, action="programs.tier.set", reason=reason.strip(), data={
        "member": member.number, "program": program.slug, "from": change.from_tier_id,
        "to": tier.pk if tier else None})
    return change


def _batches(program):
    ids = list(Membership.objects.filter(program=program).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        yield chunk[0], chunk[-1]


def _decide(tiers, by_id, row, amount, now, grace):
    """What re-evaluation does with one membership: (target tier, reason) to move it, "grace"
    to start its grace period, "keep" to end one, or None to leave it."""
    _pk, tier_id, grace_until = row
    target = tier_for(tiers, amount)
    current = by_id.get(tier_id)
    current_rank = current.rank if current is not None else -1
    target_rank = target.rank if target is not None else -1
    if target_rank > current_rank:
        return target, TierChange.Reason.REEVALUATION
    if target_rank == current_rank:
        return "keep" if grace_until else None
    if grace <= timedelta(0):
        return target, TierChange.Reason.REEVALUATION
    if grace_until is None:
        return "grace"
    if grace_until <= now:
        return target, TierChange.Reason.GRACE_ENDED
    return None


def reevaluate_program(program, now):
    """Re-evaluate every membership of one program; see reevaluate_tiers. Returns
    {"upgraded", "downgraded", "grace_started"} counts."""
    tiers = program_tiers(program)
    counts = {"upgraded": 0, "downgraded": 0, "grace_started": 0}
    if not tiers:
        return counts
    by_id = {tier.pk: tier for tier in tiers}
    grace = timedelta(days=program.tier_grace_days)
    start, end = window(program, now)
    previous = previous_window(program, now)
    for first, last in _batches(program):
        with transaction.atomic():
            # Lock first, then read: a purchase cannot upgrade someone between our reading of
            # their amount and our writing of their tier.
            rows = list(Membership.objects.select_for_update()
                        .filter(program=program, pk__gte=first, pk__lte=last).order_by("pk")
                        .values_list("pk", "tier_id", "tier_grace_until"))
            current = amounts(program, start, end, first, last)
            before = amounts(program, *previous, first, last) if previous else {}
            moves, grace_starts, grace_ends = [], [], []
            for row in rows:
                pk = row[0]
                amount = max(current.get(pk, 0), before.get(pk, 0))
                decision = _decide(tiers, by_id, row, amount, now, grace)
                if decision == "grace":
                    grace_starts.append(pk)
                elif decision == "keep":
                    grace_ends.append(pk)
                elif decision is not None:
                    moves.append((row, amount, *decision))
            if grace_starts:
                Membership.objects.filter(pk__in=grace_starts).update(tier_grace_until=now + grace)
            if grace_ends:
                Membership.objects.filter(pk__in=grace_ends).update(tier_grace_until=None)
            for target_id in {target.pk if target else None for _row, _a, target, _r in moves}:
                Membership.objects.filter(
                    pk__in=[row[0] for row, _a, target, _r in moves
                            if (target.pk if target else None) == target_id],
                ).update(tier_id=target_id, tier_since=now, tier_grace_until=None)
            changes = TierChange.objects.bulk_create([
                TierChange(membership_id=row[0], from_tier=by_id.get(row[1]), to_tier=target,
                           reason=reason, amount=amount, created_at=now)
                for row, amount, target, reason in moves
            ])
            _notify_all(changes)
            if changes:
                signals.tier_changed.send(sender=TierChange, changes=changes)
            counts["grace_started"] += len(grace_starts)
            for change in changes:
                up = change.to_tier is not None and (
                    change.from_tier is None or change.to_tier.rank > change.from_tier.rank)
                counts["upgraded" if up else "downgraded"] += 1
    return counts


def _notify_all(changes):
    memberships = Membership.objects.select_related("member__user", "program").in_bulk(
        [change.membership_id for change in changes])
    for change in changes:
        change.membership = memberships[change.membership_id]
        _notify(change)


def reevaluate_tiers(now=None):
    """The scheduled re-evaluation of every active program's tiers.

    Per batch of memberships (locked), in a few queries: the window's amounts, then each member
    goes to the tier their amount reaches, up or down. For calendar-year programs the amount is
    the better of this year so far and all of last year, so a tier reached in a year lasts
    through the next. A member below their tier keeps it for the program's grace period
    (counted from the first re-evaluation that finds them below) and loses it at the first
    re-evaluation after it, unless they qualify again. Idempotent: a second run with the same
    `now` changes nothing. Returns {program slug: counts}.
    """
    now = now or timezone.now()
    return {program.slug: reevaluate_program(program, now)
            for program in Program.objects.filter(is_active=True, tiers__isnull=False).distinct()}


# --- Reminders -------------------------------------------------------------------------------


def send_close_to_tier_reminders(now=None):
    """Email members who have reached CLOSE_TO_NEXT_TIER of their next tier's threshold
    ("150 points to Gold"), in programs that have these reminders switched on.

    Reminders category (members who opted out get none); at most one per membership, next
    tier and calendar year, so running it daily, or twice, sends each once. Returns the
    number queued.
    """
    now = now or timezone.now()
    queued = 0
    portal_url = absolute_url(reverse("portal:home"))
    for program in Program.objects.filter(is_active=True, tier_reminders=True,
                                          tiers__isnull=False).distinct():
        tiers = program_tiers(program)
        by_id = {tier.pk: tier for tier in tiers}
        start, end = window(program, now)
        for first, last in _batches(program):
            current = amounts(program, start, end, first, last)
            due = {}
            for pk, tier_id in (Membership.objects.filter(pk__in=list(current))
                                .values_list("pk", "tier_id")):
                goal = next_tier(tiers, by_id.get(tier_id))
                if goal is not None and goal.threshold * CLOSE_TO_NEXT_TIER <= current[pk] < goal.threshold:
                    due[pk] = goal
            memberships = Membership.objects.select_related("member__user", "program").in_bulk(list(due))
            for pk, goal in due.items():
                membership = memberships[pk]
                user = membership.member.user
                email = queue_email(
                    to=user.email, template="tier_close", category=EmailCategory.REMINDERS, user=user,
                    dedupe_key=f"tier-close:{pk}:{goal.pk}:{timezone.localdate(now).year}",
                    context={"membership": membership, "program": program, "tier": goal,
                             "missing": goal.threshold - current[pk],
                             "missing_points": int(goal.threshold - current[pk]),
                             "balance": membership.available, "portal_url": portal_url},
                )
                queued += email is not None
    return queued


# --- Configuration ---------------------------------------------------------------------------


PREVIEW_SQL = """
    SELECT CASE {cases} ELSE -1 END AS reached, COUNT(*)
    FROM {membership} m
    LEFT JOIN ({current}) a ON a.membership_id = m.id
    LEFT JOIN ({before}) b ON b.membership_id = m.id
    WHERE m.program_id = %(program)s
    GROUP BY 1
"""
# With no previous window, the "before" amounts are an empty set.
NO_AMOUNTS = f"SELECT id AS membership_id, 0 AS amount FROM {MEMBERSHIP} WHERE 1 = 0"  # noqa: S608
# Membership ids covered by a whole-program query.
ALL_IDS = (0, 2 ** 62)


def preview_tiers(program, *, basis, window_kind, thresholds, now=None):
    """How many of the program's members would be in each tier under `thresholds` (lowest
    first) with the given basis and window, before anything is saved: a list of counts, one per
    threshold, and the count below every tier. One GROUP BY query."""
    now = now or timezone.now()
    draft = Program(pk=program.pk, tier_basis=basis, tier_window=window_kind)
    start, end = window(draft, now)
    previous = previous_window(draft, now)
    sql = POINTS_SQL if basis == Program.TierBasis.POINTS else SPEND_SQL
    params = {"program": program.pk, "first": ALL_IDS[0], "last": ALL_IDS[1],
              "start": _moment(start), "end": _moment(end)}
    before = NO_AMOUNTS
    if previous:
        # The same query over last year, its parameters renamed.
        before = sql.replace("%(start)s", "%(prev_start)s").replace("%(end)s", "%(prev_end)s")
        params.update(prev_start=_moment(previous[0]), prev_end=_moment(previous[1]))
    amount = ("CASE WHEN COALESCE(a.amount, 0) > COALESCE(b.amount, 0) "
              "THEN COALESCE(a.amount, 0) ELSE COALESCE(b.amount, 0) END")
    cases = []
    for index in reversed(range(len(thresholds))):
        cases.append(f"WHEN {amount} >= CAST(%(t{index})s AS NUMERIC) THEN {index}")
        params[f"t{index}"] = thresholds[index]
    counts = [0] * (len(thresholds) + 1)
    if not thresholds:
        return counts
    query = PREVIEW_SQL.format(cases=" ".join(cases), membership=MEMBERSHIP, current=sql,
                               before=before)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for reached, count in cursor.fetchall():
            counts[reached] = count  # -1, below every tier, is the last
    return counts


def check_tiers(rows, grace_days, basis):
    """The tiers that stay (rows not marked "delete"), lowest first, after checking them and
    the grace period. Raises ValidationError with a message per field."""
    errors = {}
    kept = [row for row in rows if not row.get("delete")]
    if len(kept) > MAX_TIERS:
        errors["tiers"] = _("At most %(max)s tiers.") % {"max": MAX_TIERS}
    thresholds = [row["threshold"] for row in kept]
    if any(b <= a for a, b in pairwise(thresholds)):
        errors["tiers"] = _("Each tier needs a higher threshold than the one before it.")
    if any(t < 0 for t in thresholds):
        errors["tiers"] = _("Thresholds cannot be below zero.")
    if any(not (1 <= row["multiplier"] <= 10) for row in kept):
        errors["tiers"] = _("Multipliers go from 1 to 10.")
    if any(not str(row["name"]).strip() for row in kept):
        errors["tiers"] = _("Every tier needs a name.")
    if basis == Program.TierBasis.POINTS and any(t != int(t) for t in thresholds):
        errors["tiers"] = _("Points thresholds are whole numbers.")
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        errors["grace_days"] = _("From 0 to %(max)s days.") % {"max": MAX_GRACE_DAYS}
    if errors:
        raise ValidationError(errors)
    return kept


@transaction.atomic
def configure_tiers(*, program, actor, basis, window_kind, grace_days, reminders, tiers):
    """Set a program's tier rules and its tiers, in one go.

    `tiers` is a list of {"id" (None for a new tier), "name", "threshold", "multiplier",
    "perks", "delete"} lowest first; rank follows the order. Raises ValidationError (nothing
    written) for thresholds that do not rise, a multiplier outside 1..10, a missing name, more
    than MAX_TIERS tiers, or deleting a tier that members hold, have held, or a reward needs.
    Members move to their new tiers at the next re-evaluation. Logged with who did it.
    """
    program = Program.objects.select_for_update().get(pk=program.pk)
    kept = check_tiers(tiers, grace_days, basis)
    existing = {tier.pk: tier for tier in Tier.objects.filter(program=program)}
    doomed = [existing[row["id"]] for row in tiers if row.get("delete") and row.get("id") in existing]
    for tier in doomed:
        if (Membership.objects.filter(tier=tier).exists() or tier.rewards.exists()
                or TierChange.objects.filter(to_tier=tier).exists()
                or TierChange.objects.filter(from_tier=tier).exists()):
            raise ValidationError({"tiers": _(
                "%(tier)s cannot be removed: members hold or held it, or a reward needs it.")
                % {"tier": tier.name}})
    Tier.objects.filter(pk__in=[tier.pk for tier in doomed]).delete()
    # Ranks and thresholds are unique per program: park the kept tiers out of the way first,
    # so that swapping two thresholds never collides halfway.
    for offset, tier in enumerate(t for t in existing.values() if t not in doomed):
        Tier.objects.filter(pk=tier.pk).update(rank=1000 + offset,
                                              threshold=tier.threshold + Decimal(10) ** 11)
    for rank, row in enumerate(kept):
        fields = {"name": row["name"].strip(), "threshold": row["threshold"], "rank": rank,
                  "multiplier": row["multiplier"], "perks": row.get("perks", "").strip()}
        if row.get("id") in existing:
            Tier.objects.filter(pk=row["id"]).update(**fields)
        else:
            Tier.objects.create(program=program, **fields)
    program.tier_basis, program.tier_window = basis, window_kind
    program.tier_grace_days, program.tier_reminders = grace_days, reminders
    program.save(update_fields=["tier_basis", "tier_window", "tier_grace_days", "tier_reminders"])
    log_staff_action(actor=actor, action="programs.tiers.configured", data={
        "program": program.slug, "basis": basis, "window": window_kind, "grace_days": grace_days,
        "tiers": [[row["name"], str(row["threshold"]), str(row["multiplier"])] for row in kept]})
    return program_tiers(program)

"""The core of Patron: stores, programs, members and their purchases.

Amounts are Decimal in the shop's currency (programs.business.shop_currency()), stored with two
decimal places whatever the currency; programs.money rounds them to the currency's own minor unit.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY_DIGITS = 14
MONEY_PLACES = 2


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


class Store(models.Model):
    """A place where members buy: a shop on a street, or the web shop."""

    class Channel(models.TextChoices):
        IN_STORE = "in_store", _("In store")
        ONLINE = "online", _("Online")

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(
        _("code"), max_length=40, unique=True,
        help_text=_("Short name used by the till and the API, e.g. 'main-street'."),
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.IN_STORE
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Program(models.Model):
    """A loyalty program: points for spending, or a stamp card that earns per visit."""

    class Kind(models.TextChoices):
        SPEND = "spend", _("Points for spending")
        VISITS = "visits", _("Stamp card (per visit)")

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SPEND)
    class Expiry(models.TextChoices):
        NEVER = "never", _("Points never expire")
        AFTER_EARNING = "after_earning", _("Months after they were earned")
        AFTER_INACTIVITY = "after_inactivity", _("Months after the member's last activity")

    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    pending_days = models.PositiveSmallIntegerField(
        _("days points stay pending"), default=0,
        help_text=_("Points from a purchase can be spent only after this many days (the return "
                    "window)."),
    )
    expiry = models.CharField(
        _("expiry"), max_length=20, choices=Expiry.choices, default=Expiry.NEVER
    )
    expiry_months = models.PositiveSmallIntegerField(_("months until expiry"), null=True, blank=True)
    expiry_reminder_days = models.PositiveSmallIntegerField(
        _("days before expiry to remind the member"), default=14
    )
    point_value = models.DecimalField(
        _("value of one point when paying with points"), max_digits=10, decimal_places=4,
        null=True, blank=True, help_text=_("Leave empty to not let members pay with points."),
    )

    # Tiers (programs/tiers.py, docs/tiers.md); the tiers themselves are Tier rows.
    class TierBasis(models.TextChoices):
        POINTS = "points", _("Points earned")
        SPEND = "spend", _("Money spent, net of refunds")

    class TierWindow(models.TextChoices):
        ROLLING = "rolling_12_months", _("The last 12 months")
        CALENDAR = "calendar_year", _("The calendar year")

    tier_basis = models.CharField(_("tiers are reached by"), max_length=10,
                                  choices=TierBasis.choices, default=TierBasis.POINTS)
    tier_window = models.CharField(_("tier qualification window"), max_length=20,
                                   choices=TierWindow.choices, default=TierWindow.ROLLING)
    tier_grace_days = models.PositiveSmallIntegerField(
        _("days a member keeps a tier after falling below it"), default=0,
    )
    tier_reminders = models.BooleanField(
        _("remind members who are close to the next tier"), default=True,
    )

    # Treats (programs/birthdays.py, docs/campaigns.md): given once per cause, never twice.
    signup_points = models.PositiveIntegerField(
        _("welcome points for a new member"), default=0,
        help_text=_("0 for none. Customers brought in by an import get none."),
    )
    birthday_points = models.PositiveIntegerField(
        _("birthday points"), default=0,
        help_text=_("Given in the member's birthday month; 0 for none."),
    )
    birthday_reward = models.ForeignKey(
        "Reward", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("birthday gift"),
        help_text=_("A reward given free in the member's birthday month."),
    )
    winback_days = models.PositiveSmallIntegerField(
        _("days without a purchase before a we-miss-you email"), default=0,
        help_text=_("0 for none. Sent once per absence, to members who stopped coming lately."),
    )

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expiry="never") | models.Q(expiry_months__gte=1),
                name="program_expiry_needs_months",
            ),
            models.CheckConstraint(
                condition=models.Q(point_value__isnull=True) | models.Q(point_value__gt=0),
                name="program_point_value_positive",
            ),
        ]

    def __str__(self):
        return self.name


class EarningRule(models.Model):
    """How a program turns a purchase into points, from a moment on.

    Rules are never edited: a change is a new version, so every ledger entry keeps pointing at
    the rule that produced it and history is never rewritten.
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="earning_rules")
    version = models.PositiveIntegerField(_("version"))
    points_per_unit = models.DecimalField(
        _("points per currency unit"), max_digits=10, decimal_places=4, default=0,
        help_text=_("For spend programs: 1 means one point for each whole unit spent."),
    )
    points_per_visit = models.PositiveIntegerField(
        _("points (stamps) per visit"), default=0, help_text=_("For stamp cards."),
    )
    minimum_amount = money_field(
        _("minimum purchase"), default=0,
        help_text=_("Purchases below this amount earn nothing."),
    )
    effective_from = models.DateTimeField(_("applies from"), default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["program", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["program", "version"], name="earning_rule_unique_version"),
            models.CheckConstraint(condition=models.Q(points_per_unit__gte=0),
                                   name="earning_rule_rate_not_negative"),
        ]

    def __str__(self):
        return f"{self.program} v{self.version}"


class Member(models.Model):
    """A customer's loyalty card: one per person, shown at the till by number or QR code."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member"
    )
    number = models.CharField(
        _("member number"), max_length=12, unique=True,
        help_text=_("Ten digits; the last is a check digit that catches a mistyped number."),
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    joined_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("joined at store"),
    )
    # Set when the person closed their account: the number stays (the ledger and purchases
    # point at this card) but the till, the API and searches no longer find it.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Set once by the member; a treat waits for a birthday month that starts after it was set,
    # so typing this month's date to collect a gift at once does not pay.
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_set_at = models.DateTimeField(_("birthday given on"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-joined_at"]
        # The staff members list pages through members newest first.
        indexes = [models.Index(fields=["-joined_at", "-id"], name="member_joined_idx")]

    def __str__(self):
        return f"{self.number} {self.user}"

    @property
    def display_number(self):
        """The number in groups a cashier can read back: 1234 5678 90."""
        return f"{self.number[:4]} {self.number[4:8]} {self.number[8:]}"


class Purchase(models.Model):
    """A purchase reported by a till or a web shop, once per store and external id."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="purchases")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="purchases")
    external_id = models.CharField(_("receipt number"), max_length=100)
    amount = money_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], name="purchase_unique_external_id"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="purchase_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["member", "-occurred_at"], name="purchase_member_idx"),
            # The dashboard's metrics read a period's purchases from the index alone.
            models.Index(fields=["occurred_at"], include=["member", "store", "amount"],
                         name="purchase_period_idx"),
        ]

    def __str__(self):
        return f"{self.store.code}/{self.external_id}"


class PurchaseItem(models.Model):
    """A line of a purchase, as the till or web shop sent it (for category rules and metrics)."""

    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(_("SKU"), max_length=64)
    category = models.CharField(_("category"), max_length=64, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3)
    unit_price = money_field(_("unit price"))

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class Refund(models.Model):
    """Money given back for (part of) a purchase; it reverses that purchase's points in proportion."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    external_id = models.CharField(_("refund number"), max_length=100)
    amount = money_field(_("amount"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["purchase", "external_id"], name="refund_unique_external_id"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self):
        return f"{self.purchase} refund {self.external_id}"


class Membership(models.Model):
    """A member in one program, with the cached totals the ledger adds up to.

    The invariant (checked by `manage.py verify_ledger`):
    balance = sum of ledger entries = sum of lots' remaining points - points_owed.
    `points_owed` is what a refund took back after the points were already spent; the next
    points earned pay it off first, so the balance may go below zero but nothing vanishes.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="memberships")
    balance = models.BigIntegerField(_("balance"), default=0)
    pending = models.BigIntegerField(_("pending points"), default=0)
    points_owed = models.BigIntegerField(_("points owed"), default=0)
    lifetime_earned = models.BigIntegerField(_("points earned in total"), default=0)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    tier = models.ForeignKey("Tier", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="memberships", verbose_name=_("tier"))
    tier_since = models.DateTimeField(_("in this tier since"), null=True, blank=True)
    # Set when a re-evaluation first finds the member below their tier and the program has a
    # grace period: the tier is kept until then, unless they qualify again meanwhile.
    tier_grace_until = models.DateTimeField(_("keeps the tier until"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["member", "program"], name="membership_unique"),
            models.CheckConstraint(condition=models.Q(pending__gte=0),
                                   name="membership_pending_not_negative"),
            models.CheckConstraint(condition=models.Q(points_owed__gte=0),
                                   name="membership_owed_not_negative"),
        ]

    def __str__(self):
        return f"{self.member.number} in {self.program}"

    @property
    def available(self):
        """Points the member can spend now."""
        return self.balance - self.pending


class LedgerEntry(models.Model):
    """One change of a membership's points, with its cause. Never updated, never deleted."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        BONUS = "bonus", _("Bonus")
        REDEEM = "redeem", _("Reward redeemed")
        PAY = "pay", _("Paid with points")
        CANCEL = "cancel", _("Redemption cancelled")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Refund")
        ADJUST = "adjust", _("Adjusted by staff")
        IMPORT = "import", _("Opening balance")

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    # The optional causes are indexed only where set (partial indexes): most entries have one
    # cause, and indexing every NULL made the nightly expiry three times slower.
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="ledger_entries", db_index=False)
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="ledger_entries", db_index=False)
    redemption = models.ForeignKey("Redemption", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="ledger_entries", db_index=False)
    rule = models.ForeignKey(EarningRule, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="ledger_entries", db_index=False)
    lot = models.ForeignKey("PointLot", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="ledger_entries", db_index=False,
                            help_text="The lot an earn created or an expiry emptied.")
    payment = models.ForeignKey("PointsPayment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_entries", db_index=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_index=False)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # What earned a bonus ("referral:42:friend", "survey-invitation:7"), so that it is paid once.
    cause_key = models.CharField(_("cause"), max_length=100, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="ledger_entry_points_not_zero"),
            models.UniqueConstraint(fields=["membership", "cause_key"], condition=~models.Q(cause_key=""),
                                    name="ledger_entry_cause_once"),
        ]
        indexes = [
            models.Index(fields=["membership", "-created_at"], name="ledger_membership_idx"),
            # The dashboard's points metrics read a period's entries from the index alone.
            models.Index(fields=["created_at"], include=["membership", "kind", "points"],
                         name="ledger_period_idx"),
            *[
                models.Index(fields=[cause], condition=models.Q(**{f"{cause}__isnull": False}),
                             name=f"ledger_{cause}_idx")
                for cause in ("purchase", "refund", "redemption", "rule", "lot", "payment", "actor")
            ],
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points:+d}"


class CustomerImport(models.Model):
    """A CSV file of existing customers imported into a program, once: the cause of the opening
    balances it credited (their entries' cause_key is "import:<id>:row:<line>")."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    members_created = models.PositiveIntegerField(_("new members"))
    points = models.BigIntegerField(_("points credited"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")
        ordering = ["-created_at"]
        constraints = [
            # The same file into the same program is imported once, even by two people at once.
            models.UniqueConstraint(fields=["program", "sha256"], name="customer_import_file_once"),
        ]

    def __str__(self):
        return f"{self.file_name or self.sha256[:12]} → {self.program}"


class LotDraw(models.Model):
    """How many points an entry took from a lot, so a cancelled redemption can put them back."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="draws")
    lot = models.ForeignKey("PointLot", on_delete=models.PROTECT, related_name="draws")
    points = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(points__gt=0), name="lot_draw_positive")]

    def __str__(self):
        return f"{self.points} from lot {self.lot_id}"


class PointsPayment(models.Model):
    """Part of a purchase paid with points at the program's point value."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="payments")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    value = money_field(_("value"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("payment with points")
        verbose_name_plural = _("payments with points")

    def __str__(self):
        return f"{self.points} points = {self.value}"


class PointLot(models.Model):
    """Points earned together, spent and expired oldest-expiry first."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="lots")
    points = models.IntegerField(_("points"))
    remaining = models.IntegerField(_("remaining"))
    is_pending = models.BooleanField(_("pending"), default=False)
    available_at = models.DateTimeField(_("available from"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="lots", db_index=False)

    class Meta:
        verbose_name = _("point lot")
        verbose_name_plural = _("point lots")
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="lot_remaining_not_negative"),
            models.CheckConstraint(condition=models.Q(remaining__lte=models.F("points")),
                                   name="lot_remaining_within_points"),
        ]
        indexes = [
            models.Index(fields=["membership", "expires_at"], condition=models.Q(remaining__gt=0),
                         name="lot_spendable_idx"),
            models.Index(fields=["expires_at"],
                         condition=models.Q(remaining__gt=0, is_pending=False),
                         name="lot_expiry_due_idx"),
            models.Index(fields=["available_at"], condition=models.Q(is_pending=True),
                         name="lot_pending_due_idx"),
            models.Index(fields=["purchase"], condition=models.Q(purchase__isnull=False),
                         name="lot_purchase_idx"),
        ]

    def __str__(self):
        return f"{self.remaining}/{self.points}"


class Reward(models.Model):
    """Something a member can get for points."""

    class Kind(models.TextChoices):
        FIXED_DISCOUNT = "fixed_discount", _("Discount of an amount")
        PERCENT_DISCOUNT = "percent_discount", _("Percentage discount")
        FREE_PRODUCT = "free_product", _("Free product")
        EXPERIENCE = "experience", _("Experience")

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="rewards")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = models.DecimalField(
        _("value"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("The amount for a fixed discount, the percentage for a percentage discount."),
    )
    cost = models.PositiveIntegerField(_("cost in points"))
    stock = models.PositiveIntegerField(_("in stock"), null=True, blank=True,
                                        help_text=_("Leave empty for no limit."))
    valid_from = models.DateTimeField(_("available from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("available until"), null=True, blank=True)
    code_valid_days = models.PositiveSmallIntegerField(
        _("days a code stays valid"), default=30,
    )
    minimum_tier = models.ForeignKey(
        "Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="rewards",
        verbose_name=_("only for tier and above"),
    )
    # Empty for every member; otherwise only for subscribers of one of these plans whose
    # benefits apply (docs/plans.md).
    plans = models.ManyToManyField(
        "Plan", blank=True, related_name="rewards", verbose_name=_("only for subscribers of"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["program", "cost", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(cost__gt=0), name="reward_cost_positive"),
        ]

    def __str__(self):
        return self.name


class Redemption(models.Model):
    """A reward a member has paid for with points (or was given), shown at the till as a
    single-use code."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Ready to use")
        USED = "used", _("Used")
        CANCELLED = "cancelled", _("Cancelled")

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    code = models.CharField(_("code"), max_length=20, unique=True)
    points = models.PositiveIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ISSUED)
    created_at = models.DateTimeField(_("redeemed"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Set for a reward given as a gift ("referral:42:friend"), so that it is given once.
    cause_key = models.CharField(_("cause"), max_length=100, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "cause_key"], condition=~models.Q(cause_key=""),
                                    name="redemption_cause_once"),
        ]

    def __str__(self):
        return f"{self.reward} {self.display_code}"

    @property
    def display_code(self):
        """The code in groups of four, for reading aloud at the till."""
        return "-".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


class ConfigStamp(models.Model):
    """One row whose token changes whenever the earning configuration does (programs.config)."""

    token = models.CharField(max_length=32)

    def __str__(self):
        return self.token


class ApiKey(models.Model):
    """A store's key for the integration API. Only its hash is kept; the key is shown once."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.store.code} {self.prefix}…"


class IdempotentRequest(models.Model):
    """The first answer to an API request sent with an Idempotency-Key, replayed for repeats."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name="idempotent_request_unique_key"),
        ]

    def __str__(self):
        return self.key


class PointsDay(models.Model):
    """The points ledger summed per day (in the shop's time zone), program and kind, written by
    the roll-up task (programs.rollups) so the dashboard need not add up millions of entries.

    A row with no program and an empty kind marks its day as rolled up; the days after the
    last marked one are read from the ledger itself.
    """

    day = models.DateField(_("day"))
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    kind = models.CharField(_("kind"), max_length=10, blank=True)
    points = models.BigIntegerField(_("points"), default=0)
    entries = models.PositiveIntegerField(_("entries"), default=0)

    class Meta:
        verbose_name = _("day of points")
        verbose_name_plural = _("days of points")
        constraints = [
            models.UniqueConstraint(fields=["day", "program", "kind"],
                                    condition=models.Q(program__isnull=False),
                                    name="points_day_unique"),
            models.UniqueConstraint(fields=["day"], condition=models.Q(program__isnull=True),
                                    name="points_day_marked_once"),
        ]

    def __str__(self):
        return f"{self.day} {self.program_id} {self.kind}: {self.points}"


class PurchaseDay(models.Model):
    """A member's purchases at one store on one day (in the shop's time zone), summed by the
    roll-up task (programs.rollups) so the customer metrics need not group millions of receipts
    and their lines. `refunded` is what was refunded of those purchases when the row was last
    written; `first_category` and `last_category` are the smallest and largest category among
    their lines ("" when none has one): a customer bought from exactly one category in a period
    when the smallest of their rows' first categories equals the largest of their last ones.
    """

    day = models.DateField(_("day"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    purchases = models.PositiveIntegerField(_("purchases"))
    amount = money_field(_("amount"))
    refunded = money_field(_("refunded"), default=0)
    first_category = models.CharField(_("first category"), max_length=64, blank=True)
    last_category = models.CharField(_("last category"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("day of purchases")
        verbose_name_plural = _("days of purchases")
        constraints = [
            models.UniqueConstraint(fields=["member", "store", "day"], name="purchase_day_unique"),
        ]
        indexes = [
            # A period's rows are read from the index alone.
            models.Index(fields=["day"], include=["member", "store", "purchases", "amount",
                                                  "refunded", "first_category", "last_category"],
                         name="purchase_day_period_idx"),
        ]

    def __str__(self):
        return f"{self.day} {self.member_id}@{self.store_id}: {self.purchases}"


class PurchaseRollUp(models.Model):
    """How far the purchases roll-up has got: one row. Days before `until` are in PurchaseDay;
    purchases and refunds recorded before `checked_at` (late receipts from a till that was
    offline, refunds of old purchases) are in it too."""

    until = models.DateField(_("rolled up until"))
    checked_at = models.DateTimeField(_("late changes checked at"))

    class Meta:
        verbose_name = _("purchases roll-up")
        verbose_name_plural = _("purchases roll-ups")

    def __str__(self):
        return f"until {self.until}"


class CustomerFigures(models.Model):
    """The customer figures of a closed stretch of days, for all stores (`store` empty) or one:
    a week or month of a dashboard trend, or a period and the one before it. Kept the first time
    the dashboard computes them, so that it groups only the open stretch's customers afterwards.
    Only days the purchases roll-up has closed are kept, and only without a program, tier or
    segment filter (those follow members' memberships today, which change). The roll-up deletes
    the rows that a late receipt or refund changes, from that day on (the stretch after a
    changed one has a changed `retained`).
    """

    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    customers = models.PositiveIntegerField(_("customers"))
    repeaters = models.PositiveIntegerField(_("customers with more than one purchase"))
    purchases = models.PositiveIntegerField(_("purchases"))
    sales = money_field(_("sales"))
    single = models.PositiveIntegerField(_("customers who bought from one category"))
    several = models.PositiveIntegerField(_("customers who bought from several categories"))
    # Empty when kept as the first of a run: only the next stretch needed its customers.
    retained = models.PositiveIntegerField(_("customers retained from the stretch before"), null=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("customer figures of closed days")
        verbose_name_plural = _("customer figures of closed days")
        constraints = [
            models.UniqueConstraint(fields=["start", "end"], condition=models.Q(store__isnull=True),
                                    name="customer_figures_all_stores"),
            models.UniqueConstraint(fields=["start", "end", "store"],
                                    condition=models.Q(store__isnull=False),
                                    name="customer_figures_per_store"),
        ]

    def __str__(self):
        return f"{self.start}–{self.end} @{self.store_id or '*'}: {self.customers}"


class Tier(models.Model):
    """A level of a program (Bronze, Silver, Gold), reached by points earned or money spent in
    the program's qualification window. Higher rank, higher threshold."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="tiers")
    name = models.CharField(_("name"), max_length=60)
    # {"sv": "Guld", "ja": "ゴールド"}: shown instead of `name` in those languages.
    names = models.JSONField(_("name in other languages"), default=dict, blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"))
    threshold = models.DecimalField(
        _("threshold"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES,
        help_text=_("Points earned, or money spent, in the window to reach this tier."),
    )
    multiplier = models.DecimalField(
        _("earning multiplier"), max_digits=4, decimal_places=2, default=1,
        help_text=_("1.5 means half as many points again on every purchase."),
    )
    perks = models.TextField(_("perks"), blank=True,
                             help_text=_("Shown to members and at the till."))

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["program", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["program", "rank"], name="tier_unique_rank"),
            models.UniqueConstraint(fields=["program", "threshold"], name="tier_unique_threshold"),
            models.CheckConstraint(condition=models.Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=models.Q(multiplier__gte=1, multiplier__lte=10),
                                   name="tier_multiplier_from_1_to_10"),
        ]

    def __str__(self):
        return self.name

    def display_name(self, language=None):
        """The name in `language` (the active one by default), or the shop's own name."""
        from django.utils.translation import get_language

        return self.names.get(language or get_language() or "", self.name) or self.name

    @property
    def multiplier_display(self):
        """The multiplier without trailing zeros, as the reader writes numbers: 1.5, 1,25, 2."""
        from django.utils.formats import number_format

        return number_format(self.multiplier.normalize())


class TierChange(models.Model):
    """A member moved from one tier to another, and why. Never updated, never deleted."""

    class Reason(models.TextChoices):
        PURCHASE = "purchase", _("Upgraded by a purchase")
        REEVALUATION = "reevaluation", _("Re-evaluation")
        GRACE_ENDED = "grace_ended", _("Grace period ended")
        STAFF = "staff", _("Changed by staff")

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("from"))
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("to"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    amount = models.DecimalField(
        _("qualifying amount"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES,
        help_text=_("Points or money in the window when the change was decided."),
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["membership", "-created_at"], name="tier_change_membership_idx")]

    def __str__(self):
        return f"{self.from_tier or '-'} → {self.to_tier or '-'}"


class Segment(models.Model):
    """A group of members that staff define by filters, to send offers, surveys and emails to.

    Every filter is optional and they all apply together; the members are worked out when the
    segment is used (programs.segments), so a segment always means "who matches now".
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="segments",
        verbose_name=_("program"), help_text=_("Needed for the tier and points filters."),
    )
    tiers = models.ManyToManyField(Tier, blank=True, related_name="segments", verbose_name=_("in tiers"))
    last_purchase_after = models.DateField(_("last purchase on or after"), null=True, blank=True)
    last_purchase_before = models.DateField(_("last purchase before"), null=True, blank=True)
    spend_from = models.DateField(_("spend counted from"), null=True, blank=True)
    spend_until = models.DateField(_("spend counted until"), null=True, blank=True)
    spend_at_least = money_field(_("spent at least"), null=True, blank=True)
    spend_at_most = money_field(_("spent at most"), null=True, blank=True)
    balance_at_least = models.IntegerField(_("points balance at least"), null=True, blank=True)
    balance_at_most = models.IntegerField(_("points balance at most"), null=True, blank=True)
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("bought at store"),
    )
    birthday_month = models.PositiveSmallIntegerField(
        _("birthday month"), null=True, blank=True,
        choices=[(month, month) for month in range(1, 13)],
        help_text=_("Members who gave their birthday, born in this month."),
    )

    class SurveyBand(models.TextChoices):
        DETRACTOR = "detractor", _("Detractors")
        PASSIVE = "passive", _("Passives")
        PROMOTER = "promoter", _("Promoters")

    # Worked out by the surveys app (it registers the filter with programs.segments).
    survey_band = models.CharField(_("latest NPS answer"), max_length=10, blank=True,
                                   choices=SurveyBand.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(spend_at_least__isnull=True) | models.Q(spend_at_most__isnull=True)
                | models.Q(spend_at_least__lte=models.F("spend_at_most")),
                name="segment_spend_range"),
            models.CheckConstraint(
                condition=models.Q(balance_at_least__isnull=True) | models.Q(balance_at_most__isnull=True)
                | models.Q(balance_at_least__lte=models.F("balance_at_most")),
                name="segment_balance_range"),
        ]

    def __str__(self):
        return self.name


class BonusCampaign(models.Model):
    """Extra points for a while: "double points in December", "×3 on coffee beans at the
    airport store", "Gold members ×1.5 this weekend". Combined with the tier and plan
    multipliers as docs/campaigns.md says."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="campaigns",
                                verbose_name=_("program"))
    name = models.CharField(_("name"), max_length=100)
    multiplier = models.DecimalField(
        _("multiplier"), max_digits=4, decimal_places=2,
        help_text=_("2 means double points on what the campaign covers."),
    )
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("only at store"))
    category = models.CharField(_("only for the product category"), max_length=64, blank=True,
                                help_text=_("As the till or web shop sends it on item lines."))
    minimum_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="campaigns", verbose_name=_("only for tier and above"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("bonus campaign")
        verbose_name_plural = _("bonus campaigns")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                   name="campaign_ends_after_it_starts"),
            models.CheckConstraint(condition=models.Q(multiplier__gt=1, multiplier__lte=10),
                                   name="campaign_multiplier_above_1_to_10"),
        ]
        indexes = [models.Index(fields=["program", "ends_on"], name="campaign_program_end_idx")]

    def __str__(self):
        return self.name


# --- Paid memberships (docs/plans.md) ----------------------------------------------------------


class Plan(models.Model):
    """A paid membership of a program (a VIP club): a price per month or year and its benefits.
    A retired plan takes no new subscribers but keeps serving those it has."""

    class Period(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(_("name"), max_length=80)
    price = money_field(_("price"))
    period = models.CharField(_("billed"), max_length=5, choices=Period.choices, default=Period.MONTH)
    trial_days = models.PositiveSmallIntegerField(_("free trial days"), default=0)
    grace_days = models.PositiveSmallIntegerField(
        _("grace period in days"), default=7,
        help_text=_("How long an unpaid subscription keeps its benefits before it lapses."))
    multiplier = models.DecimalField(
        _("earning multiplier"), max_digits=4, decimal_places=2, default=1,
        help_text=_("1.5 means half as many points again on every purchase."))
    bonus_points = models.PositiveIntegerField(_("bonus points each paid period"), default=0)
    perks = models.TextField(_("perks"), blank=True)
    is_active = models.BooleanField(_("open to new subscribers"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["program", "price", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="plan_price_positive"),
            models.CheckConstraint(condition=models.Q(multiplier__gte=1, multiplier__lte=10),
                                   name="plan_multiplier_from_1_to_10"),
        ]

    def __str__(self):
        return self.name

    @property
    def multiplier_display(self):
        """The multiplier without trailing zeros, as the reader writes numbers: 1.5, 1,25, 2."""
        from django.utils.formats import number_format

        return number_format(self.multiplier.normalize())


class SubscriptionQuerySet(models.QuerySet):
    def giving_benefits(self, at):
        """Subscriptions whose plan's benefits apply at `at` (docs/plans.md): trialing or
        active, past due within the grace period, cancelled until the paid period ends. Read
        from the times as well as the status, so an hourly task that has not run yet gives
        nothing away."""
        status = Subscription.Status
        return self.filter(models.Q(status__in=[status.TRIALING, status.ACTIVE])
                           | models.Q(status=status.PAST_DUE, grace_until__gt=at)
                           | models.Q(status=status.CANCELLED, period_end__gt=at))


class Subscription(models.Model):
    """A member's paid membership. Its status moves only through programs.subscriptions, which
    writes each move to SubscriptionEvent."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Free trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment overdue")
        CANCELLED = "cancelled", _("Ends at the end of the period")
        LAPSED = "lapsed", _("Ended")

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    # The plan chosen for the next period (docs/plans.md: changes take effect at renewal).
    next_plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    period_start = models.DateTimeField(_("period started"))
    # The next payment date: the end of the trial or of the last period paid for.
    period_end = models.DateTimeField(_("paid until"))
    grace_until = models.DateTimeField(_("grace period until"), null=True, blank=True)
    reminded_for = models.DateTimeField(null=True, blank=True,
                                        help_text="period_end the renewal reminder was sent for.")
    stripe_subscription_id = models.CharField(max_length=100, blank=True, default="")
    # Created time of the last Stripe event applied: older ones arriving late are stale.
    stripe_event_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-started_at", "-pk"]
        constraints = [
            # One subscription at a time per membership, even when two requests join at once.
            models.UniqueConstraint(fields=["membership"], condition=~models.Q(status="lapsed"),
                                    name="subscription_one_live_per_membership"),
            models.UniqueConstraint(fields=["stripe_subscription_id"],
                                    condition=~models.Q(stripe_subscription_id=""),
                                    name="subscription_unique_stripe_id"),
        ]
        indexes = [models.Index(fields=["status", "period_end"], name="subscription_due_idx")]

    def __str__(self):
        return f"{self.plan} ({self.get_status_display()})"


class SubscriptionEvent(models.Model):
    """A subscription moved from one status to another, and why. Never updated, never deleted."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(_("from"), max_length=10, blank=True)
    to_status = models.CharField(_("to"), max_length=10)
    cause = models.CharField(_("cause"), max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.from_status or '-'} → {self.to_status}: {self.cause}"


class SubscriptionPayment(models.Model):
    """A receipt: one period paid for (or given free by a manager, with the reason)."""

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CARD = "card", _("Card terminal")
        STRIPE = "stripe", _("Online (Stripe)")
        COMP = "comp", _("Given free")

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="payments")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("paid by"), max_length=10, choices=Method.choices)
    amount = money_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    period_start = models.DateTimeField(_("period from"))
    period_end = models.DateTimeField(_("period until"))
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    bonus_credited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("paid"), default=timezone.now)

    class Meta:
        verbose_name = _("subscription payment")
        verbose_name_plural = _("subscription payments")
        ordering = ["-period_start", "-pk"]
        constraints = [
            # A period is paid once: a repeated till click or webhook cannot pay it twice.
            models.UniqueConstraint(fields=["subscription", "period_start"],
                                    name="subscription_payment_period_once"),
            models.CheckConstraint(condition=models.Q(amount__gte=0),
                                   name="subscription_payment_not_negative"),
        ]

    def __str__(self):
        return f"{self.subscription_id} {self.period_start:%Y-%m-%d} {self.amount} {self.currency}"


class StripeEvent(models.Model):
    """A Stripe webhook event processed, by its id, with what came of it: each is handled once."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    outcome = models.CharField(max_length=300)
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="stripe_events")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.event_id} {self.type}: {self.outcome}"


class Offer(models.Model):
    """A one-off offer to a segment: "double points on your next visit, until Sunday".

    Each member of the segment when the offer is sent gets a grant, used by their first
    purchase in the program that the offer raises (programs.offers).
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="offers",
                                verbose_name=_("program"))
    name = models.CharField(_("name"), max_length=100)
    message = models.TextField(_("message to members"), blank=True,
                               help_text=_("A sentence or two for the email; the offer itself is "
                                           "described for you."))
    multiplier = models.DecimalField(_("multiplier"), max_digits=4, decimal_places=2,
                                     help_text=_("2 means double points on the next visit."))
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="offers",
                                verbose_name=_("segment"))
    valid_until = models.DateField(_("valid until"), help_text=_("The last day, included."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Set once every grant's email is in the outbox; a sent offer without it is swept up.
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    # An offer covers the whole basket, as a campaign without a category does.
    category = ""

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(multiplier__gt=1, multiplier__lte=10),
                                   name="offer_multiplier_above_1_to_10"),
        ]

    def __str__(self):
        return self.name


class OfferGrant(models.Model):
    """One member's copy of an offer, used at most once."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="grants")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="offer_grants")
    granted_at = models.DateTimeField(_("given"), default=timezone.now)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("used on purchase"))

    class Meta:
        verbose_name = _("offer given")
        verbose_name_plural = _("offers given")
        constraints = [
            models.UniqueConstraint(fields=["offer", "member"], name="offer_once_per_member"),
            models.CheckConstraint(condition=models.Q(used_at__isnull=True, purchase__isnull=True)
                                   | models.Q(used_at__isnull=False, purchase__isnull=False),
                                   name="offer_used_with_its_purchase"),
        ]
        indexes = [models.Index(fields=["member"], condition=models.Q(used_at__isnull=True),
                                name="offer_grant_unused_idx")]

    def __str__(self):
        return f"{self.offer} → {self.member}"


class BusinessProfile(models.Model):
    """The shop's own details, chosen in the first-run setup (docs/onboarding.md); one row.

    Each field left empty falls back to its setting (SHOP_NAME, SHOP_CURRENCY, SHOP_TIME_ZONE,
    LANGUAGES), so a site configured by environment alone works without the row; read it
    through `programs.business`, which caches it.
    """

    name = models.CharField(_("business name"), max_length=100, blank=True)
    # A small image kept in the database, so that no media storage has to be set up for it.
    logo = models.BinaryField(_("logo"), blank=True, default=b"")
    logo_type = models.CharField(_("logo type"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    set_up_at = models.DateTimeField(_("set up"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("business profile")
        verbose_name_plural = _("business profile")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="business_profile_single_row"),
        ]

    def __str__(self):
        return self.name or settings.SHOP_NAME

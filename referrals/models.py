"""Referrals: a member's code, each program's referral settings, who brought whom, and every
refusal or flag with its reason code (docs/referrals.md)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from programs.models import Member, Program, Purchase, Reward, money_field


class Source(models.TextChoices):
    """How a friend said who brought them."""

    LINK = "link", _("Share link")
    SIGNUP = "signup", _("Code typed at sign-up")
    API = "api", _("Web shop or till system (API)")
    TILL = "till", _("Code given at the till")


class Reason(models.TextChoices):
    """Why a code or a referral was refused or flagged; shown to staff and to the referrer."""

    MALFORMED = "malformed", _("Not a referral code")
    UNKNOWN = "unknown", _("No member has this code")
    RATE_LIMITED = "rate_limited", _("Too many codes tried")
    NO_PROGRAM = "no_program", _("No referral program is running")
    OWN_CODE = "own_code", _("Own code")
    SAME_EMAIL = "same_email", _("Same email address as the referrer")
    SAME_PHONE = "same_phone", _("Same phone number as the referrer")
    KNOWN_CUSTOMER = "known_customer", _("Already a customer")
    DISPOSABLE_EMAIL = "disposable_email", _("Throwaway email address")
    ALREADY_REFERRED = "already_referred", _("Already referred by someone else")
    NOT_FIRST_PURCHASE = "not_first_purchase", _("Code given after the first purchase")
    REFERRER_BURST = "referrer_burst", _("Many friends in a short time")
    SHARED_DEVICE = "shared_device", _("Many sign-ups from one device")
    WINDOW_PASSED = "window_passed", _("No qualifying purchase in time")
    REFUNDED = "refunded", _("The qualifying purchase was refunded")
    CAP_MONTH = "cap_month", _("The referrer's monthly limit was reached")
    CAP_TOTAL = "cap_total", _("The referrer's overall limit was reached")
    REJECTED = "rejected", _("Rejected by staff")
    REVIEW_DEADLINE = "review_deadline", _("Not reviewed in time")


# Reasons that hold a referral for staff review instead of refusing it: offices, families and
# a popular member's busy week look like this too.
FLAG_REASONS = (Reason.REFERRER_BURST, Reason.SHARED_DEVICE)


class ReferralCode(models.Model):
    """A member's public referral code; the protection lies in the rules, not in its secrecy."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="referral_code")
    code = models.CharField(_("code"), max_length=16, unique=True)
    on_leaderboard = models.BooleanField(
        _("show me on the referral leaderboard"), default=False,
        help_text=_("Your first name and initial, and how many friends you brought."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self):
        return self.display_code

    @property
    def display_code(self):
        """Two groups of four, easy to read aloud: 7K3M-Q9XR."""
        return f"{self.code[:4]}-{self.code[4:]}"


class ReferralProgramSettings(models.Model):
    """How a program rewards referrals: who gets what, when a friend qualifies, and the limits."""

    class Incentive(models.TextChoices):
        REFERRER = "referrer", _("Only the member who refers")
        FRIEND = "friend", _("Only the new customer")
        BOTH = "both", _("Both")

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")

    program = models.OneToOneField(Program, on_delete=models.PROTECT, related_name="referral_settings")
    is_active = models.BooleanField(_("referrals running"), default=True)
    incentive = models.CharField(_("who is rewarded"), max_length=10, choices=Incentive.choices,
                                 default=Incentive.BOTH)
    referrer_points = models.PositiveIntegerField(_("points for the member who refers"), default=0)
    referrer_reward = models.ForeignKey(
        Reward, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("reward for the member who refers"),
        help_text=_("Instead of points: a reward code, issued free."),
    )
    friend_points = models.PositiveIntegerField(_("points for the new customer"), default=0)
    friend_reward = models.ForeignKey(
        Reward, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("reward for the new customer"),
        help_text=_("Instead of points: a reward code, issued free."),
    )
    minimum_amount = money_field(_("qualifying first purchase of at least"), default=0)
    qualify_within_days = models.PositiveSmallIntegerField(
        _("days after joining to make that purchase"), default=30)
    review_days = models.PositiveSmallIntegerField(
        _("review period in days"), default=14,
        help_text=_("Rewards are paid once returns can no longer happen; a refund before then "
                    "cancels them."),
    )
    cap_per_month = models.PositiveSmallIntegerField(
        _("friends rewarded per referrer per month"), null=True, blank=True,
        help_text=_("Leave empty for no limit."))
    cap_total = models.PositiveSmallIntegerField(
        _("friends rewarded per referrer in total"), null=True, blank=True,
        help_text=_("Leave empty for no limit."))
    milestone_every = models.PositiveSmallIntegerField(
        _("milestone bonus every how many friends"), null=True, blank=True,
        help_text=_("For example 3 or 5; leave empty for none."))
    milestone_points = models.PositiveIntegerField(_("milestone bonus points"), default=0)
    cookie_days = models.PositiveSmallIntegerField(
        _("days a share link is remembered"), default=30)
    burst_limit = models.PositiveSmallIntegerField(
        _("friends per referrer in a day before review"), default=5)
    device_limit = models.PositiveSmallIntegerField(
        _("sign-ups from one device in a day before review"), default=3)
    decision_days = models.PositiveSmallIntegerField(
        _("days staff have to review a flagged referral"), default=7)
    review_default = models.CharField(
        _("when staff do not review in time"), max_length=10, choices=Outcome.choices,
        default=Outcome.REJECT)

    class Meta:
        verbose_name = _("referral settings")
        verbose_name_plural = _("referral settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(minimum_amount__gte=0),
                                   name="referral_settings_minimum_not_negative"),
            models.CheckConstraint(condition=models.Q(cookie_days__gte=1),
                                   name="referral_settings_cookie_days_positive"),
            models.CheckConstraint(
                condition=models.Q(milestone_every__isnull=True) | models.Q(milestone_every__gte=2),
                name="referral_settings_milestone_every_two_or_more"),
        ]

    def __str__(self):
        return str(self.program)

    def rewards_referrer(self):
        return self.incentive in (self.Incentive.REFERRER, self.Incentive.BOTH)

    def rewards_friend(self):
        return self.incentive in (self.Incentive.FRIEND, self.Incentive.BOTH)


class Referral(models.Model):
    """A new customer (friend) brought by a member (referrer) into one program's referral scheme.

    joined → (flagged →) qualified → rewarded, or refused with a reason at any step before the
    payout. Only the first valid attribution counts: a friend is referred once per program.
    """

    class Status(models.TextChoices):
        JOINED = "joined", _("Joined")
        FLAGGED = "flagged", _("Waiting for review")
        QUALIFIED = "qualified", _("Qualified")
        REWARDED = "rewarded", _("Rewarded")
        REFUSED = "refused", _("Refused")

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="referrals")
    referrer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referrals_made")
    friend = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referrals_received")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.JOINED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    # A hash of the sign-up's IP address and browser, never the address itself.
    device = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("referred"), default=timezone.now)
    qualify_until = models.DateTimeField(_("must qualify by"))
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("qualifying purchase"))
    qualified_at = models.DateTimeField(_("qualified"), null=True, blank=True)
    pay_after = models.DateTimeField(_("rewarded after"), null=True, blank=True)
    review_until = models.DateTimeField(_("review by"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    rewarded_at = models.DateTimeField(_("rewarded"), null=True, blank=True)
    refused_at = models.DateTimeField(_("refused"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["friend", "program"], name="referral_once_per_friend"),
            models.CheckConstraint(condition=~models.Q(friend=models.F("referrer")),
                                   name="referral_not_self"),
            models.CheckConstraint(
                condition=~models.Q(status="refused") | ~models.Q(reason=""),
                name="referral_refusal_has_reason"),
        ]
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_referrer_idx"),
            models.Index(fields=["status", "pay_after"], name="referral_due_idx"),
            models.Index(fields=["device", "created_at"], name="referral_device_idx"),
        ]

    def __str__(self):
        return f"{self.referrer.number} → {self.friend.number}"


class ReferralIncident(models.Model):
    """One refusal or flag with its reason code, kept so that none is ever silent.

    A code that matched nobody has no referrer; a refusal at sign-up names the friend.
    """

    class Outcome(models.TextChoices):
        REFUSED = "refused", _("Refused")
        FLAGGED = "flagged", _("Flagged for review")

    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, blank=True)
    code = models.CharField(_("code as given"), max_length=40, blank=True)
    referrer = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    friend = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="incidents")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("referral refusal or flag")
        verbose_name_plural = _("referral refusals and flags")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_outcome_display()}: {self.get_reason_display()}"

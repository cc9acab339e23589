"""Surveys, the invitations sent for them, the answers, and what staff do about them."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from programs.business import shop_name
from programs.models import Member, Program, Purchase, Store

from . import scoring

# The question texts, translated; {shop} is the shop's name.
QUESTION_TEXTS = {
    ("nps", "recommend"): _("How likely are you to recommend {shop} to a friend or colleague?"),
    ("csat", "satisfied"): _("How satisfied were you with your visit to {shop}?"),
    ("ces", "effort"): _("{shop} made it easy for me to get what I wanted."),
    ("faces", "today"): _("How was today?"),
    ("cli", "recommend"): _("How likely are you to recommend {shop} to a friend?"),
    ("cli", "buy_again"): _("How likely are you to buy from {shop} again?"),
    ("cli", "try_other"): _("How likely are you to try other products from {shop}?"),
    ("secure_customer", "satisfied"): _("How satisfied are you with {shop} overall?"),
    ("secure_customer", "buy_again"): _("Would you buy from {shop} again?"),
    ("secure_customer", "recommend"): _("Would you recommend {shop} to a friend?"),
}
# Words under the ends of a scale, so a number means the same to everyone.
SCALE_ENDS = {
    "nps": (_("Not at all likely"), _("Extremely likely")),
    "csat": (_("Very dissatisfied"), _("Very satisfied")),
    "ces": (_("Strongly disagree"), _("Strongly agree")),
    "cli": (_("Definitely"), _("Definitely not")),
    "secure_customer": (_("Not at all"), _("Definitely")),
}
# The named shares shown beside a score (scoring.Score.shares).
SHARE_LABELS = {
    scoring.DETRACTOR: _("Detractors"), scoring.PASSIVE: _("Passives"),
    scoring.PROMOTER: _("Promoters"), "easy": _("Easy (5–7)"),
}
FACES = {1: ("😞", _("Bad")), 2: ("😐", _("So-so")), 3: ("🙂", _("Good")), 4: ("😀", _("Great"))}


class Survey(models.Model):
    """A survey the shop runs: what it asks, when it is sent and what answering earns."""

    class Kind(models.TextChoices):
        NPS = scoring.NPS, _("Net Promoter Score (NPS)")
        CSAT = scoring.CSAT, _("Customer satisfaction (CSAT)")
        CES = scoring.CES, _("Customer effort (CES)")
        FACES = scoring.FACES, _("“How was today?” with four faces")
        CLI = scoring.CLI, _("Customer Loyalty Index (three questions)")
        SECURE = scoring.SECURE, _("Secure customers (three questions)")

    class Scale(models.TextChoices):
        ZERO_TEN = "0-10", _("0 to 10")
        ONE_TEN = "1-10", _("1 to 10")
        ONE_SEVEN = "1-7", _("1 to 7")
        ONE_FIVE = "1-5", _("1 to 5")

    name = models.CharField(_("name"), max_length=100, help_text=_("For staff; members never see it."))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NPS)
    nps_scale = models.CharField(_("NPS scale"), max_length=5, choices=Scale.choices,
                                 default=Scale.ZERO_TEN)
    is_active = models.BooleanField(_("active"), default=True)
    send_after_purchase = models.BooleanField(_("send after a purchase"), default=False)
    delay_hours = models.PositiveIntegerField(
        _("hours after the purchase"), default=24,
        help_text=_("The email goes out this long after the purchase."),
    )
    min_days_between = models.PositiveIntegerField(
        _("days between surveys"), default=30,
        help_text=_("A member gets no survey if they were invited to any within this many days."),
    )
    answer_days = models.PositiveIntegerField(
        _("days to answer"), default=14, help_text=_("Links in the email work this long."),
    )
    edit_hours = models.PositiveIntegerField(
        _("hours to change an answer"), default=48,
        help_text=_("After answering, a member may change the score or comment this long."),
    )
    points = models.PositiveIntegerField(
        _("points for answering"), default=0, help_text=_("0 for none. Never depends on the score."),
    )
    points_program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("points program"),
    )
    follow_up_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("follow-ups go to"),
        help_text=_("Who gets in touch with unhappy customers. Empty: every manager is told."),
    )
    follow_up_days = models.PositiveIntegerField(_("days to follow up"), default=2)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-is_active", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points=0) | models.Q(points_program__isnull=False),
                name="survey_points_need_program",
            ),
        ]

    def __str__(self):
        return self.name

    def questions(self):
        """[(key, text, (lowest, highest))] in the order asked."""
        return [
            (key, QUESTION_TEXTS[(self.kind, key)].format(shop=shop_name()), scale)
            for key, scale in scoring.questions(self.kind, self.nps_scale)
        ]

    @property
    def scale_ends(self):
        return SCALE_ENDS.get(self.kind)


class Invitation(models.Model):
    """One member asked to answer one survey, by email, on the portal or on a receipt.

    The links in the email are signed with the invitation's id (surveys.links); `sent_at` and
    `reminder_sent_at` make sending idempotent: a task claims the row by setting them.
    """

    class Skipped(models.TextChoices):
        OPTED_OUT = "opted_out", _("member does not want survey emails")
        NO_EMAIL = "no_email", _("no email address")
        SURVEY_OFF = "survey_off", _("survey switched off")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="survey_invitations")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="survey_invitations")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("store"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("open until"))
    # None: not to be emailed (the portal and the receipt still offer it).
    send_after = models.DateTimeField(_("email due"), null=True, blank=True)
    sent_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    skipped = models.CharField(_("not emailed because"), max_length=20, blank=True,
                               choices=Skipped.choices)
    confirmed_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            # A purchase invites to each survey once, however often the signal fires.
            models.UniqueConstraint(fields=["survey", "purchase"], name="invitation_once_per_purchase"),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="invitation_member_idx"),
            models.Index(fields=["send_after"], condition=models.Q(sent_at__isnull=True,
                         send_after__isnull=False), name="invitation_due_idx"),
        ]

    def __str__(self):
        return f"{self.survey} → {self.member}"

    def is_open(self, now=None):
        return (now or timezone.now()) < self.expires_at

    def edit_until(self):
        if self.confirmed_at is None:
            return None
        return self.confirmed_at + timedelta(hours=self.survey.edit_hours)


class Answer(models.Model):
    """One question's answer to one invitation, with its raw value, scale and band version.

    A click in an email records an UNCONFIRMED answer: mail scanners open links too. It counts
    once confirmed (a person pressed a button, or the page stayed open a few seconds); a burst
    of clicks on different options from one invitation marks it DISCARDED. docs/surveys.md.
    """

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("unconfirmed")
        CONFIRMED = "confirmed", _("confirmed")
        DISCARDED = "discarded", _("discarded (several options clicked at once)")

    class Source(models.TextChoices):
        EMAIL = "email", _("email link")
        PORTAL = "portal", _("member portal")
        RECEIPT = "receipt", _("receipt link")

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="answers")
    question = models.CharField(_("question"), max_length=20)
    value = models.SmallIntegerField(_("answer"))
    scale = models.CharField(_("scale"), max_length=5)
    band_version = models.PositiveSmallIntegerField(_("band version"), default=scoring.BAND_VERSION)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.UNCONFIRMED)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    clicked_at = models.DateTimeField(_("last clicked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["invitation", "question"], name="answer_once_per_question"),
        ]

    def __str__(self):
        return f"{self.question}={self.value} ({self.get_status_display()})"


class Comment(models.Model):
    """What the member wrote beside their score; one per invitation, editable in the window."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="comment")
    text = models.TextField(_("comment"), max_length=2000)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self):
        return self.text[:50]


class FollowUp(models.Model):
    """An unhappy answer for a member of staff to act on, with a deadline and a record."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="follow_up")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="survey_follow_ups",
                              verbose_name=_("owner"))
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["deadline"]
        indexes = [models.Index(fields=["status", "deadline"], name="followup_queue_idx")]

    def __str__(self):
        return f"{self.invitation} ({self.get_status_display()})"


class FollowUpNote(models.Model):
    """What was done about a follow-up: never changed afterwards."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("what was done"), max_length=2000)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.text[:50]


class Testimonial(models.Model):
    """A promoter's comment they agreed may be shown, with the words they agreed to and when.

    Staff approve it before it is shown anywhere; withdrawing consent removes the row's use.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("to review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("not used")

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="testimonial")
    text = models.TextField(_("testimonial"), max_length=2000)
    consent_wording = models.TextField(_("consent as worded to the member"))
    consented_at = models.DateTimeField(_("consent given"))
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("testimonial")
        verbose_name_plural = _("testimonials")
        ordering = ["-consented_at"]

    def __str__(self):
        return self.text[:50]

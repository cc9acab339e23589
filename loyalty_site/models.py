"""What spans the apps: people and their email preferences, the email outbox, the staff log,
and the webhooks that tell a shop's other systems what happened."""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailCategory(models.TextChoices):
    """What an email is about; members choose which of the optional ones they receive."""

    ESSENTIAL = "essential", _("Account and security (always sent)")
    REMINDERS = "reminders", _("Reminders about my points, rewards and tier")
    OFFERS = "offers", _("Offers and news from the shop")
    SURVEYS = "surveys", _("Short surveys about my visits")


OPTIONAL_EMAIL_CATEGORIES = (EmailCategory.REMINDERS, EmailCategory.OFFERS, EmailCategory.SURVEYS)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: a customer, a member of staff, or both.

    Customers the till or the web shop enrols get an account with no usable password; signing up
    later with the same email address lets them set one. `is_staff` only opens the Django admin;
    the staff dashboard is opened by the "manager" and "cashier" roles (see loyalty_site.roles).
    """

    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    emails_reminders = models.BooleanField(_("reminders about my points"), default=True)
    emails_offers = models.BooleanField(_("offers and news"), default=False)
    emails_surveys = models.BooleanField(_("short surveys"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("Opens the technical Django admin. Shop staff need a role instead."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]
        # The staff members list sorts by name or email and shows the first page: without
        # these it sorts every member to show fifty.
        indexes = [
            models.Index(fields=["name"], name="user_name_idx"),
            models.Index(fields=["email"], name="user_email_idx"),
        ]

    def __str__(self):
        return self.name or self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name.split(" ")[0] if self.name else self.email

    def wants_email(self, category):
        if category == EmailCategory.ESSENTIAL:
            return True
        return getattr(self, f"emails_{category}")


class StaffPermission(models.Model):  # noqa: DJ008 - never has rows to show
    """Holds the staff dashboard's permissions; it has no table of its own.

    The roles in loyalty_site.roles grant these; docs/roles.md is the matrix.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("open_dashboard", _("Open the staff dashboard")),
            ("use_till", _("Use the till: find members, record purchases and refunds")),
            ("adjust_points", _("Adjust points up to the cashier limit")),
            ("adjust_points_unlimited", _("Adjust points above the cashier limit")),
            ("manage_programs", _("Configure programs, rewards and stores")),
            ("view_metrics", _("Read the loyalty metrics and revenue")),
            ("export_data", _("Export members and ledgers to CSV")),
            ("import_data", _("Import customers and opening balances from CSV")),
            ("manage_staff", _("Add and remove staff, and change their roles")),
            ("view_outbox", _("See the email outbox and resend failed emails")),
            ("manage_webhooks", _("Set up webhooks and see their deliveries")),
        ]


class Consent(models.Model):
    """A person's consent as they gave it: the very words they were shown, in which language,
    where and when; and when they withdrew it. Kept as evidence: never changed but for
    `withdrawn_at`, never deleted, kept (with the person anonymised) when they close their
    account.

    `kind` names what was consented to: "email_offers", "email_reminders", "email_surveys" for
    the optional emails; other apps add their own kinds ("<app>_<what>") without a migration.
    At most one consent of a kind is in force per person.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="consents")
    kind = models.CharField(_("consent to"), max_length=50)
    wording = models.TextField(_("wording shown"))
    language = models.CharField(_("language"), max_length=10)
    source = models.CharField(_("where"), max_length=30,
                              help_text="e.g. signup, email_preferences")
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], condition=models.Q(withdrawn_at__isnull=True),
                                    name="consent_one_in_force_per_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.given_at:%Y-%m-%d}"


class OutboxEmail(models.Model):
    """An email as it will be sent, written before any attempt to send it.

    A crash loses none (the row survives, and the flush task picks it up) and a repeated send
    task sends none twice (sending first claims the row with a conditional update).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=100, help_text=_("The template that made it."))
    category = models.CharField(_("category"), max_length=20, choices=EmailCategory.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="outbox_emails",
    )
    to_email = models.EmailField(_("to"))
    from_email = models.CharField(_("from"), max_length=254)
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    # Set by callers that must not queue the same email twice (a reminder per member per window).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox email")
        verbose_name_plural = _("outbox emails")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbox_due_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="outbox_status_idx"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.to_email} ({self.get_status_display()})"

    @property
    def message_id(self):
        return f"<patron-outbox-{self.pk}@{settings.SITE_URL.split('://')[-1].split(':')[0]}>"


class StaffAction(models.Model):
    """Who did what, and why: one row per staff action, never changed afterwards."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="staff_actions"
    )
    action = models.CharField(_("action"), max_length=100, help_text="e.g. programs.points.adjusted")
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("staff action")
        verbose_name_plural = _("staff actions")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"


class WebhookEndpoint(models.Model):
    """A URL of the shop's other systems that is sent the events it chose, signed with its secret.

    The secret is kept as it is (signing needs it). After a roll the previous secret also signs
    for a day (`previous_secret_until`), so a receiver can be switched over without losing events.
    loyalty_site/webhooks.py sends; docs/webhooks.md is what a receiver needs to know.
    """

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["pk"]

    def __str__(self):
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: written in the transaction of the change it tells about, then
    sent, and tried again with growing pauses until the endpoint answers 2xx or the attempts
    run out. Its id is the `Patron-Delivery` header, the same on every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The same for every endpoint the event went to; what a receiver de-duplicates on.
    event_id = models.UUIDField(_("event"), db_index=True)
    event_type = models.CharField(_("event type"), max_length=50)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"),
                         name="webhook_due_idx"),
            models.Index(fields=["status", "-created_at"], name="webhook_status_idx"),
            models.Index(fields=["event_type", "-created_at"], name="webhook_type_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_endpoint_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.get_status_display()})"


class WebhookAttempt(models.Model):
    """One try at sending a delivery, as the endpoint answered it (or why it could not)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(_("when"), default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("time taken (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["attempted_at", "pk"]

    def __str__(self):
        return f"{self.delivery_id} {self.attempted_at:%Y-%m-%d %H:%M:%S} {self.response_status}"

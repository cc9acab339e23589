"""The core of Patron: stores, programs, members and their purchases.

Amounts are Decimal in the shop's currency (settings.SHOP_CURRENCY), stored with two decimal
places whatever the currency; programs.money rounds them to the currency's own minor unit.
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
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["name"]

    def __str__(self):
        return self.name


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

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-joined_at"]

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
        indexes = [models.Index(fields=["member", "-occurred_at"], name="purchase_member_idx")]

    def __str__(self):
        return f"{self.store.code}/{self.external_id}"

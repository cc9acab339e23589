from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import services
from .models import EmailCategory
from .roles import CASHIER, MANAGER
from .webhooks import EventType


def shown_wording(field):
    """The words a checkbox showed, label and help text, in the active language: what a
    consent given by ticking it records."""
    return "\n".join(str(text) for text in (field.label, field.help_text) if text)


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form (allauth calls `signup` after saving the user)."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    emails_offers = forms.BooleanField(
        label=_("Send me offers and news from the shop"), required=False,
        help_text=_("You can change this at any time."),
    )
    # Prefilled from a friend's share link (referrals.views.portal.SignupView); a code that is
    # not accepted is explained after sign-up and never stops it.
    referral_code = forms.CharField(
        label=_("Referral code"), max_length=40, required=False,
        help_text=_("If a friend sent you, their code."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false"}),
    )

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.emails_offers = self.cleaned_data["emails_offers"]
        user.save(update_fields=["name", "emails_offers"])
        if user.emails_offers:
            services.give_consent(user=user, kind=f"email_{EmailCategory.OFFERS}", source="signup",
                                  wording=shown_wording(self.fields["emails_offers"]))


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class EmailPreferencesForm(forms.Form):
    reminders = forms.BooleanField(
        label=_("Reminders about my points, rewards and tier"), required=False,
        help_text=_("For example, a week before points expire."),
    )
    offers = forms.BooleanField(label=_("Offers and news from the shop"), required=False)
    surveys = forms.BooleanField(
        label=_("Short surveys about my visits"), required=False,
        help_text=_("One click in the email, at most once in a while."),
    )

    def wording(self):
        """{email category: the words its switch showed}, for the consents it records."""
        return {EmailCategory(name): shown_wording(field) for name, field in self.fields.items()}


class StaffMemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(CASHIER, _("Cashier")), (MANAGER, _("Manager"))],
        initial=CASHIER,
    )


class CloseAccountForm(forms.Form):
    """Closing an account asks for the password again: an open session is not enough."""

    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password


class BusinessForm(forms.Form):
    """The first step of the first-run setup (docs/onboarding.md)."""

    name = forms.CharField(label=_("Business name"), max_length=100)
    logo = forms.FileField(label=_("Logo"), required=False,
                           help_text=_("PNG, JPEG, WebP or SVG, at most 200 kB. Optional."))
    currency = forms.CharField(label=_("Currency"), max_length=3,
                               help_text=_("Three letters, such as EUR, SEK, PLN or JPY."))
    time_zone = forms.CharField(label=_("Time zone"), max_length=64,
                                help_text=_("Where the shop is, such as Europe/Warsaw or Asia/Tokyo."))
    languages = forms.MultipleChoiceField(
        label=_("Languages for your customers"), choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Counter materials and the sign-up are offered in these."))


class StoresForm(forms.Form):
    stores = forms.CharField(label=_("Your stores"), widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=_("One store name per line, such as “Main Street”."))
    online = forms.BooleanField(label=_("We also sell online (a web shop)"), required=False)

    def store_names(self):
        return [line for line in self.cleaned_data["stores"].splitlines() if line.strip()]


class FirstProgramForm(forms.Form):
    template = forms.ChoiceField(label=_("Start from"), widget=forms.RadioSelect)
    name = forms.CharField(label=_("Program name"), max_length=100,
                           help_text=_("What customers see, such as “Kafé Lind Club”."))
    plan_price = forms.DecimalField(
        label=_("VIP membership price per month"), required=False, min_value=0, max_digits=10,
        decimal_places=2, help_text=_("Only for the paid VIP club."))

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            (template.key, f"{template.label} — {template.summary}") for template in templates]


class WebhookEndpointForm(forms.Form):
    """Where a shop's other system listens and what it hears; loyalty_site.webhooks checks it."""

    url = forms.CharField(label=_("URL"), max_length=500,
                          help_text=_("Where Patron posts the events, e.g. https://shop.example.com/patron-events."),
                          widget=forms.URLInput(attrs={"spellcheck": "false"}))
    description = forms.CharField(label=_("Description"), max_length=200, required=False,
                                  help_text=_("For staff: which system this is."))
    event_types = forms.MultipleChoiceField(label=_("Events"), choices=EventType.choices,
                                            widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Send events to this endpoint"), required=False,
                                   initial=True)

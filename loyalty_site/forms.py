from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .roles import CASHIER, MANAGER


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form (allauth calls `signup` after saving the user)."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    emails_offers = forms.BooleanField(
        label=_("Send me offers and news from the shop"), required=False,
        help_text=_("You can change this at any time."),
    )

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.emails_offers = self.cleaned_data["emails_offers"]
        user.save(update_fields=["name", "emails_offers"])


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


class StaffMemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(CASHIER, _("Cashier")), (MANAGER, _("Manager"))],
        initial=CASHIER,
    )

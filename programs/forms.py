"""Forms of the till screen. They read what the cashier typed; the services decide the rest
(an amount's decimals, enough points, a used code) and their messages are shown beside the field.

Every form has a prefix, because the member panel shows them all on one page.
"""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .business import shop_currency
from .models import BonusCampaign, Offer, Plan, Program, PurchaseItem, Segment, Store, Tier
from .money import format_money, parse_amount
from .points import MAX_ADJUSTMENT
from .subscriptions import MAX_GRACE_DAYS, MAX_TRIAL_DAYS
from .tiers import MAX_TIERS

# Field attributes for the till: no browser autofill or spelling fixes on codes and numbers.
PLAIN = {"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}


def read_amount(text):
    """An amount as a cashier types it in any of the shop's languages: "1 249,90" or "1249.90".

    Only separators change here; the purchase service decides whether it is a valid amount.
    A comma is the decimal separator when there is no point, as Polish and Swedish write it.
    """
    text = "".join(str(text or "").split())  # spaces, including the no-break space of sv and pl
    if "," in text and "." not in text:
        return text.replace(",", ".")
    if "," in text and "." in text:
        # The one written last separates the decimals; the other groups thousands.
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        return text.replace(grouping, "").replace(decimal_mark, ".")
    return text


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Member number, email or phone"), max_length=200,
        widget=forms.TextInput(attrs={**PLAIN, "type": "search", "enterkeyhint": "search",
                                      "autofocus": True}),
    )


class StoreForm(forms.Form):
    store = forms.TypedChoiceField(label=_("Your store"), coerce=int)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("Choose…")), *((s.pk, s.name) for s in stores)]


class PurchaseForm(forms.Form):
    prefix = "purchase"

    amount = forms.CharField(
        label=_("Amount"), max_length=30,
        widget=forms.TextInput(attrs={**PLAIN, "inputmode": "decimal", "enterkeyhint": "done"}),
    )
    external_id = forms.CharField(
        label=_("Receipt number"), max_length=100,
        help_text=_("Suggested; type the number on the receipt if it has one."),
        widget=forms.TextInput(attrs=PLAIN),
    )
    referral_code = forms.CharField(
        label=_("Referral code"), max_length=40, required=False,
        help_text=_("Only on a new customer's first purchase: the code of the member who sent them."),
        widget=forms.TextInput(attrs={**PLAIN, "autocapitalize": "characters"}),
    )

    def clean_amount(self):
        return read_amount(self.cleaned_data["amount"])

    def clean_external_id(self):
        return self.cleaned_data["external_id"].strip()


class RefundForm(forms.Form):
    prefix = "refund"

    purchase = forms.TypedChoiceField(label=_("Purchase"), coerce=int)
    amount = forms.CharField(
        label=_("Amount to refund"), max_length=30, required=False,
        help_text=_("Leave empty to refund everything that is left."),
        widget=forms.TextInput(attrs={**PLAIN, "inputmode": "decimal"}),
    )
    external_id = forms.CharField(label=_("Refund number"), max_length=100,
                                  widget=forms.TextInput(attrs=PLAIN))

    def __init__(self, *args, purchases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_purchases(purchases)

    def set_purchases(self, purchases):
        """The purchases to choose from: member_purchases() rows, which carry what is left."""
        self.fields["purchase"].choices = [
            (p.pk, _("%(receipt)s · %(store)s · %(amount)s, %(left)s left") % {
                "receipt": p.external_id, "store": p.store.name,
                "amount": format_money(p.amount, p.currency), "left": format_money(p.left, p.currency)})
            for p in purchases
        ]

    def clean_amount(self):
        return read_amount(self.cleaned_data["amount"])

    def clean_external_id(self):
        return self.cleaned_data["external_id"].strip()


class RedeemForm(forms.Form):
    prefix = "redeem"

    reward = forms.TypedChoiceField(label=_("Reward"), coerce=int)

    def __init__(self, *args, rewards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_rewards(rewards)

    def set_rewards(self, rewards):
        self.rewards = {reward.pk: reward for reward in rewards}
        self.fields["reward"].choices = [
            (r.pk, _("%(reward)s · %(cost)s points (%(program)s)") % {
                "reward": r.name, "cost": r.cost, "program": r.program.name})
            for r in rewards
        ]

    def clean_reward(self):
        return self.rewards[self.cleaned_data["reward"]]

    def chosen_reward(self):
        """The reward the sent form named, or None."""
        try:
            return self.rewards.get(int(self.data.get(self.add_prefix("reward"), "")))
        except ValueError:
            return None


class CodeForm(forms.Form):
    prefix = "code"

    code = forms.CharField(
        label=_("Reward code"), max_length=40,
        widget=forms.TextInput(attrs={**PLAIN, "autocapitalize": "characters", "enterkeyhint": "go"}),
    )
    # The member whose panel the code was typed on, to go back to; empty on the search page.
    member = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class ProgramChoiceForm(forms.Form):
    program = forms.TypedChoiceField(label=_("Program"), coerce=int)

    def __init__(self, *args, programs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.programs = {program.pk: program for program in programs}
        self.fields["program"].choices = [(p.pk, self.program_label(p)) for p in programs]
        if len(self.programs) == 1:
            self.fields["program"].initial = next(iter(self.programs))

    def program_label(self, program):
        return program.name

    def clean_program(self):
        return self.programs[self.cleaned_data["program"]]


class PayForm(ProgramChoiceForm):
    prefix = "pay"

    points = forms.IntegerField(
        label=_("Points to use"), min_value=1, max_value=MAX_ADJUSTMENT,
        widget=forms.NumberInput(attrs={**PLAIN, "inputmode": "numeric"}),
    )

    def __init__(self, *args, available=None, **kwargs):
        self.available = available or {}
        super().__init__(*args, **kwargs)

    def program_label(self, program):
        # Per hundred points: one point may be worth less than the currency's smallest coin.
        return _("%(program)s · 100 points = %(value)s · %(available)s available") % {
            "program": program.name, "value": format_money(100 * program.point_value),
            "available": self.available.get(program.pk, 0)}


class AdjustForm(ProgramChoiceForm):
    prefix = "adjust"

    ADD, TAKE = "add", "take"

    # Add or take away, rather than a signed number: a tablet's number pad may have no minus key.
    direction = forms.ChoiceField(
        label=_("Change"), choices=[(ADD, _("Add points")), (TAKE, _("Take points away"))],
        initial=ADD, widget=forms.RadioSelect,
    )
    points = forms.IntegerField(
        label=_("Points"), min_value=1, max_value=MAX_ADJUSTMENT,
        widget=forms.NumberInput(attrs={**PLAIN, "inputmode": "numeric"}),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=300,
        help_text=_("Kept in the member's history and the staff log."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def signed_points(self):
        points = self.cleaned_data["points"]
        return -points if self.cleaned_data["direction"] == self.TAKE else points


class LedgerExportForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To (inclusive)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The first day must come before the last."))
        return data


class SegmentForm(forms.ModelForm):
    """Staff define a segment: every filter optional, all of them together."""

    class Meta:
        model = Segment
        fields = ["name", "description", "program", "tiers", "balance_at_least", "balance_at_most",
                  "last_purchase_after", "last_purchase_before", "spend_from", "spend_until",
                  "spend_at_least", "spend_at_most", "store", "birthday_month", "survey_band"]
        widgets = {
            name: forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            for name in ("last_purchase_after", "last_purchase_before", "spend_from", "spend_until")
        } | {"tiers": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["tiers"].queryset = Tier.objects.select_related("program")
        self.fields["store"].queryset = Store.objects.filter(is_active=True)
        self.fields["birthday_month"].choices = [("", "---------")] + [
            (month, date_format(date(2000, month, 1), "F")) for month in range(1, 13)]
        for name in ("spend_at_least", "spend_at_most"):
            self.fields[name].validators.append(MinValueValidator(0))
            self.fields[name].widget.attrs["min"] = 0

    def clean(self):
        data = super().clean()
        program, tiers = data.get("program"), data.get("tiers") or []
        needs_program = tiers or data.get("balance_at_least") is not None or (
            data.get("balance_at_most") is not None)
        if needs_program and program is None:
            self.add_error("program", _("Choose the program whose tiers or points balance count."))
        if program is not None and any(tier.program_id != program.pk for tier in tiers):
            self.add_error("tiers", _("Choose tiers of the chosen program only."))
        for low, high, message in (
            ("balance_at_least", "balance_at_most", _("The lowest balance is above the highest.")),
            ("spend_at_least", "spend_at_most", _("The lowest spend is above the highest.")),
            ("spend_from", "spend_until", _("The spend period ends before it starts.")),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, message)
        after, before = data.get("last_purchase_after"), data.get("last_purchase_before")
        if after and before and after >= before:
            self.add_error("last_purchase_before", _(
                "No purchase can be on or after the first date and before the second."))
        if (data.get("spend_from") or data.get("spend_until")) and (
                data.get("spend_at_least") is None and data.get("spend_at_most") is None):
            self.add_error("spend_at_least", _("Say how much they spent in the period."))
        return data


class CampaignForm(forms.ModelForm):
    """A bonus campaign: which purchases it covers, and how much more they earn."""

    class Meta:
        model = BonusCampaign
        fields = ["name", "program", "multiplier", "starts_on", "ends_on", "store", "category",
                  "minimum_tier", "is_active"]
        widgets = {"starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["store"].queryset = Store.objects.filter(is_active=True)
        self.fields["minimum_tier"].queryset = Tier.objects.select_related("program")
        self.fields["multiplier"].widget.attrs.update(min="1.01", max="10", step="0.01")

    def clean(self):
        data = super().clean()
        multiplier = data.get("multiplier")
        if multiplier is not None and not Decimal(1) < multiplier <= 10:
            self.add_error("multiplier", _("Enter a multiplier above 1 and at most 10."))
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("The last day is before the first."))
        tier, program = data.get("minimum_tier"), data.get("program")
        if tier is not None and program is not None and tier.program_id != program.pk:
            self.add_error("minimum_tier", _("Choose a tier of the chosen program."))
        data["category"] = (data.get("category") or "").strip()
        return data


class BasketPreviewForm(forms.Form):
    """A sample basket, to see what it would earn under the campaigns."""

    program = forms.ModelChoiceField(Program.objects.filter(is_active=True), label=_("Program"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(Store.objects.filter(is_active=True), label=_("Store"))
    tier = forms.ModelChoiceField(Tier.objects.select_related("program"), required=False,
                                  label=_("Member's tier"))
    amount = forms.CharField(label=_("Amount paid"))
    category = forms.CharField(label=_("Category of a line"), required=False, max_length=64)
    line_amount = forms.CharField(label=_("Amount of that line"), required=False)

    def clean(self):
        data = super().clean()
        currency = shop_currency()
        for name in ("amount", "line_amount"):
            if data.get(name):
                try:
                    data[name] = parse_amount(data[name], currency, allow_zero=name == "line_amount")
                except ValidationError as error:
                    self.add_error(name, error)
        if data.get("category") and not data.get("line_amount"):
            self.add_error("line_amount", _("Say how much of the basket is in this category."))
        tier, program = data.get("tier"), data.get("program")
        if tier is not None and program is not None and tier.program_id != program.pk:
            self.add_error("tier", _("Choose a tier of the chosen program."))
        return data

    def lines(self):
        data = self.cleaned_data
        if not data.get("category"):
            return []
        return [PurchaseItem(sku="preview", category=data["category"], quantity=1,
                             unit_price=data["line_amount"])]


# --- Tier configuration (staff) ---------------------------------------------------------------


class TierSettingsForm(forms.Form):
    """A program's tier rules; the tiers themselves are TierRowFormSet."""

    basis = forms.ChoiceField(label=_("Tiers are reached by"), choices=Program.TierBasis.choices)
    window_kind = forms.ChoiceField(label=_("Counted over"), choices=Program.TierWindow.choices)
    grace_days = forms.IntegerField(
        label=_("Grace period (days)"), min_value=0, max_value=366,
        help_text=_("How long a member keeps a tier after the nightly re-evaluation finds them "
                    "below it. 0 moves them down at once."))
    reminders = forms.BooleanField(label=_("Email members who are close to the next tier"),
                                   required=False)


class TierRowForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=60, required=False)
    threshold = forms.DecimalField(label=_("Threshold"), max_digits=14, decimal_places=2,
                                   min_value=0, required=False)
    multiplier = forms.DecimalField(label=_("Points multiplier"), max_digits=4, decimal_places=2,
                                    min_value=1, max_value=10, required=False, initial=1)
    perks = forms.CharField(label=_("Perks"), required=False, max_length=1000,
                            widget=forms.Textarea(attrs={"rows": 2}))
    delete = forms.BooleanField(label=_("Remove"), required=False)

    def is_blank(self):
        data = self.cleaned_data
        return not data.get("id") and not data.get("name") and data.get("threshold") is None

    def clean(self):
        data = super().clean()
        if not self.is_blank() and not data.get("delete"):
            if not data.get("name"):
                self.add_error("name", _("Give the tier a name."))
            if data.get("threshold") is None:
                self.add_error("threshold", _("Enter the threshold."))
        return data


class BaseTierRows(forms.BaseFormSet):
    def rows(self):
        """The rows as programs.tiers.configure_tiers takes them, blank new rows left out."""
        return [{**form.cleaned_data, "multiplier": form.cleaned_data.get("multiplier") or Decimal(1),
                 "perks": form.cleaned_data.get("perks") or ""}
                for form in self.forms if form.cleaned_data and not form.is_blank()]


TierRowFormSet = forms.formset_factory(TierRowForm, formset=BaseTierRows, extra=2, max_num=MAX_TIERS,
                                       validate_max=True)


class BirthdayForm(forms.Form):
    birthday = forms.DateField(label=_("My birthday"), widget=forms.DateInput(attrs={"type": "date"}))


class CustomerImportForm(forms.Form):
    """A CSV file of customers and the program their opening balances go to (docs/import.md)."""

    # A 200,000-row file is about 15 MB; anything much larger is not a customer list.
    MAX_BYTES = 30 * 1024 * 1024

    file = forms.FileField(label=_("CSV file"), help_text=_(
        "UTF-8, comma or semicolon separated, a header row. Columns: email (required), name, "
        "phone, language, member_number, balance, joined."))
    program = forms.ModelChoiceField(label=_("Opening balances go to"), queryset=None,
                                     empty_label=None)

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 30 MB."))
        return upload


class ConfirmImportForm(forms.Form):
    """The checked file to import, named by its SHA-256 (the file waits in the cache)."""

    sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    program = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    file_name = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs


class OfferForm(forms.ModelForm):
    """A one-off offer to a segment; sent in a second step, after checking who gets it."""

    class Meta:
        model = Offer
        fields = ["name", "program", "segment", "multiplier", "valid_until", "message"]
        widgets = {"valid_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "message": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["multiplier"].widget.attrs.update(min="1.01", max="10", step="0.01")

    def clean(self):
        data = super().clean()
        multiplier = data.get("multiplier")
        if multiplier is not None and not Decimal(1) < multiplier <= 10:
            self.add_error("multiplier", _("Enter a multiplier above 1 and at most 10."))
        if data.get("valid_until") and data["valid_until"] < timezone.localdate():
            self.add_error("valid_until", _("The last day has passed already."))
        return data


class TierForm(forms.Form):
    """A manager puts the member in a tier by hand, at the till."""

    prefix = "tier"
    NONE = "none"

    tier = forms.ChoiceField(label=_("Tier"))
    reason = forms.CharField(
        label=_("Reason"), max_length=300,
        help_text=_("Kept in the member's tier history and the staff log."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, tier_list=(), **kwargs):
        """`tier_list`: the tiers of the programs that have them, by program and rank."""
        super().__init__(*args, **kwargs)
        self.tiers = {str(tier.pk): tier for tier in tier_list}
        self.programs = {str(tier.program_id): tier.program for tier in tier_list}
        self.fields["tier"].choices = [
            *[(f"{self.NONE}:{pk}", _("%(program)s: no tier") % {"program": program.name})
              for pk, program in self.programs.items()],
            *[(pk, f"{tier.program.name}: {tier.display_name()}") for pk, tier in self.tiers.items()],
        ]

    def chosen(self):
        """(program, tier or None) chosen."""
        value = self.cleaned_data["tier"]
        if value.startswith(f"{self.NONE}:"):
            return self.programs[value.split(":", 1)[1]], None
        tier = self.tiers[value]
        return tier.program, tier


# --- Paid membership plans (staff) --------------------------------------------------------------


class PlanForm(forms.ModelForm):
    """A plan's name, price and benefits; the program is chosen when the plan is created and
    stays. Saving goes through subscriptions.save_plan, which decides what may change."""

    price = forms.CharField(label=_("Price"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))

    class Meta:
        model = Plan
        fields = ["program", "name", "price", "period", "trial_days", "grace_days", "multiplier",
                  "bonus_points", "perks", "is_active"]
        widgets = {"perks": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["program"]
        else:
            self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["price"].help_text = _("In %(currency)s, for one period.") % {
            "currency": shop_currency()}
        self.fields["trial_days"].validators.append(MaxValueValidator(MAX_TRIAL_DAYS))
        self.fields["grace_days"].validators.append(MaxValueValidator(MAX_GRACE_DAYS))
        self.fields["bonus_points"].validators.append(MaxValueValidator(MAX_ADJUSTMENT))
        self.fields["multiplier"].widget.attrs.update(min="1", max="10", step="0.01")

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

    def clean_price(self):
        return parse_amount(read_amount(self.cleaned_data["price"]))

    def clean_multiplier(self):
        multiplier = self.cleaned_data["multiplier"]
        if not Decimal(1) <= multiplier <= 10:
            raise ValidationError(_("Enter a multiplier from 1 to 10; 1 means no extra points."))
        return multiplier

    def clean(self):
        data = super().clean()
        program = data.get("program") or (self.instance.program if self.instance.pk else None)
        name = data.get("name")
        if program is not None and name and Plan.objects.filter(
                program=program, name__iexact=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("%(program)s has a plan called %(name)s already.")
                           % {"program": program.name, "name": name})
        return data

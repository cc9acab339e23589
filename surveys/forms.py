"""Forms of the survey pages: answering (members), configuring and reading results (staff)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty_site.models import User
from loyalty_site.roles import MANAGER
from programs.models import Member, Program, Segment, Store, Tier
from programs.segments import segment_members

from .models import FACES, FollowUp, Survey
from .services import consent_wording


class AnswerForm(forms.Form):
    """One radio group per question of the survey, an optional comment and, for promoters,
    the testimonial consent."""

    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"), required=False,
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, survey, *args, ask_consent=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.question_keys = []
        for key, text, (low, high) in survey.questions():
            if survey.kind == Survey.Kind.FACES:
                choices = [(v, f"{FACES[v][0]} {FACES[v][1]}") for v in range(low, high + 1)]
            else:
                choices = [(v, str(v)) for v in range(low, high + 1)]
            self.fields[key] = forms.TypedChoiceField(
                label=text, choices=choices, coerce=int, widget=forms.RadioSelect,
                error_messages={"required": _("Choose an answer.")},
            )
            self.question_keys.append(key)
        # The comment comes after the questions.
        self.fields["comment"] = self.fields.pop("comment")
        if ask_consent:
            self.fields["testimonial_consent"] = forms.BooleanField(
                label=consent_wording(), required=False)

    def questions(self):
        return [self[key] for key in self.question_keys]

    def values(self):
        return {key: self.cleaned_data.get(key) for key in self.question_keys}


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["name", "kind", "nps_scale", "is_active", "send_after_purchase", "delay_hours",
                  "min_days_between", "answer_days", "edit_hours", "points", "points_program",
                  "follow_up_owner", "follow_up_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["points_program"].queryset = Program.objects.filter(is_active=True)
        self.fields["follow_up_owner"].queryset = User.objects.filter(
            groups__name=MANAGER).order_by("name")
        if self.instance.pk and self.instance.invitations.exists():
            # Answers keep their scale, but a survey that changes what it asks mid-way reads
            # as two surveys; make a new one instead.
            for name in ("kind", "nps_scale"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed once members have been invited.")

    def clean(self):
        data = super().clean()
        if data.get("points") and not data.get("points_program"):
            self.add_error("points_program", _("Choose the program the points are paid in."))
        return data


class ResultsFilterForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(),
                                   required=False, empty_label=_("All stores"))
    tier = forms.ModelChoiceField(label=_("Members now in tier"), queryset=Tier.objects.none(),
                                  required=False, empty_label=_("All members"))
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until (inclusive)"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Trend by"), required=False,
                           choices=[("month", _("month")), ("week", _("week"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.order_by("name")
        self.fields["tier"].queryset = Tier.objects.select_related("program").order_by(
            "program__name", "rank")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end comes before the start."))
        return data


class SendForm(forms.Form):
    segment = forms.ModelChoiceField(label=_("A segment"), queryset=Segment.objects.none(),
                                     required=False, empty_label=_("None: the members below"))
    members = forms.CharField(
        label=_("Or member numbers and email addresses"), required=False,
        widget=forms.Textarea(attrs={"rows": 5}), help_text=_("One per line."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")

    def clean_members(self):
        entries = [line.strip() for line in self.cleaned_data["members"].splitlines() if line.strip()]
        numbers = {e.replace(" ", "") for e in entries if "@" not in e}
        emails = {e.lower() for e in entries if "@" in e}
        found = list(Member.objects.filter(number__in=numbers).select_related("user")) + list(
            Member.objects.filter(user__email__in=emails).select_related("user"))
        known = {m.number for m in found} | {m.user.email.lower() for m in found}
        unknown = [e for e in entries if e.replace(" ", "") not in known and e.lower() not in known]
        if unknown:
            raise forms.ValidationError(_("No member with: %(list)s") % {"list": ", ".join(unknown)})
        return list({m.pk: m for m in found}.values())

    def clean(self):
        data = super().clean()
        if "members" in data and bool(data.get("segment")) == bool(data["members"]):
            raise forms.ValidationError(_("Choose a segment or list members, not both."))
        return data

    def chosen_members(self):
        segment = self.cleaned_data["segment"]
        if segment is not None:
            return segment_members(segment)
        return self.cleaned_data["members"]


class FollowUpForm(forms.Form):
    note = forms.CharField(label=_("What was done"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ChoiceField(label=_("Status"), choices=FollowUp.Status.choices)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(groups__name=MANAGER).order_by("name")

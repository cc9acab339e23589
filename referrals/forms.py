from django import forms
from django.utils.translation import gettext_lazy as _

from programs.models import Reward

from .models import ReferralProgramSettings


class ReferralSettingsForm(forms.ModelForm):
    """A program's referral settings. Each rewarded side needs points or a reward."""

    class Meta:
        model = ReferralProgramSettings
        fields = ["is_active", "incentive", "referrer_points", "referrer_reward", "friend_points",
                  "friend_reward", "minimum_amount", "qualify_within_days", "review_days",
                  "cap_per_month", "cap_total", "milestone_every", "milestone_points", "cookie_days",
                  "burst_limit", "device_limit", "decision_days", "review_default"]

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.program = program
        rewards = Reward.objects.filter(program=program, is_active=True)
        self.fields["referrer_reward"].queryset = rewards
        self.fields["friend_reward"].queryset = rewards

    def clean(self):
        data = super().clean()
        settings = ReferralProgramSettings(incentive=data.get("incentive"))
        sides = (("referrer", settings.rewards_referrer()), ("friend", settings.rewards_friend()))
        for side, wanted in sides:
            points, reward = data.get(f"{side}_points"), data.get(f"{side}_reward")
            if wanted and not points and reward is None:
                self.add_error(f"{side}_points", _("Give points or choose a reward for this side."))
            if points and reward is not None:
                self.add_error(f"{side}_reward", _("Choose points or a reward, not both."))
        if data.get("milestone_every") and not data.get("milestone_points"):
            self.add_error("milestone_points", _("How many points does the milestone bring?"))
        if data.get("milestone_every") == 1:
            self.add_error("milestone_every", _("Every 2nd friend or more; leave empty for none."))
        if data.get("cookie_days") == 0:
            self.add_error("cookie_days", _("At least one day."))
        return data


class LeaderboardForm(forms.Form):
    on_leaderboard = forms.BooleanField(
        label=_("Show me on the referral leaderboard"), required=False,
        help_text=_("Staff see your first name and initial, and how many friends you brought."),
    )

"""The after-purchase surveys are part of the earning configuration's snapshot (programs.config):
a change to a survey changes its stamp."""

from django.db import migrations

from programs.config import stamped_by


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0001_surveys_invitations_answers_follow_ups"),
        ("programs", "0019_earning_config_stamp"),
    ]
    operations = [stamped_by("surveys_survey")]

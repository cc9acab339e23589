"""Which programs have referral settings is part of the earning configuration's snapshot
(programs.config): a change to the settings changes its stamp."""

from django.db import migrations

from programs.config import stamped_by


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0001_referral_codes_settings_and_referrals"),
        ("programs", "0019_earning_config_stamp"),
    ]
    operations = [stamped_by("referrals_referralprogramsettings")]

"""Purchases read the earning configuration from a per-process snapshot (programs.config); these
triggers change its stamp whenever a table it is built from changes, in the same transaction."""

from django.db import migrations, models

from programs.config import stamped_by

STAMPED = ["programs_program", "programs_earningrule", "programs_bonuscampaign", "programs_tier",
           "programs_offer", "programs_plan"]


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0018_segment_survey_band'),
    ]

    operations = [
        migrations.CreateModel(
            name='ConfigStamp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32)),
            ],
        ),
        migrations.RunSQL("INSERT INTO programs_configstamp (id, token) VALUES (1, 'initial')",
                          migrations.RunSQL.noop),
        *[stamped_by(table) for table in STAMPED],
    ]

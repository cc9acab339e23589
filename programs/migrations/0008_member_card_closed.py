from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0007_tiers'),
    ]

    operations = [
        migrations.AddField(
            model_name='member',
            name='closed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='closed'),
        ),
    ]

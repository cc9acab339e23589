import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0014_welcome_and_birthday_treats'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('earn', 'Earned'), ('bonus', 'Bonus'), ('redeem', 'Reward redeemed'), ('pay', 'Paid with points'), ('cancel', 'Redemption cancelled'), ('expire', 'Expired'), ('reverse', 'Refund'), ('adjust', 'Adjusted by staff'), ('import', 'Opening balance')], max_length=10, verbose_name='kind'),
        ),
        migrations.CreateModel(
            name='CustomerImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file_name', models.CharField(blank=True, max_length=200, verbose_name='file')),
                ('sha256', models.CharField(max_length=64, verbose_name='SHA-256 of the file')),
                ('rows', models.PositiveIntegerField(verbose_name='rows')),
                ('members_created', models.PositiveIntegerField(verbose_name='new members')),
                ('points', models.BigIntegerField(verbose_name='points credited')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='imported')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('program', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='imports', to='programs.program')),
            ],
            options={
                'verbose_name': 'customer import',
                'verbose_name_plural': 'customer imports',
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(fields=('program', 'sha256'), name='customer_import_file_once')],
            },
        ),
    ]

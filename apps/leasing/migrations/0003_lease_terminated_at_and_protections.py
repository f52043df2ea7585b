"""Lease.terminated_at, Application.unit protected, a lease renewed at most once.

None of these makes SQLite rebuild leasing_lease (a nullable column is ADD COLUMN, the
partial unique constraint is CREATE UNIQUE INDEX, on_delete lives in Python only), so the
no-overlap triggers of 0002 stay in place; tests/leasing check that they still refuse.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leasing', '0002_no_double_booking'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='lease',
            name='terminated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='application',
            name='unit',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='leasing.unit'),
        ),
        migrations.AddConstraint(
            model_name='lease',
            constraint=models.UniqueConstraint(condition=models.Q(('renewal_of__isnull', False)), fields=('renewal_of',), name='leasing_lease_renewed_once'),
        ),
    ]

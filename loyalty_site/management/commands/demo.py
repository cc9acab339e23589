from django.core.management.base import BaseCommand

from loyalty_site.demo import build_demo_shop, demo_counts


class Command(BaseCommand):
    help = "Fill the database with a believable demo shop. Safe to run again: it adds nothing twice."

    def handle(self, *args, **options):
        logins = build_demo_shop()
        counts = demo_counts()
        self.stdout.write(self.style.SUCCESS(
            "Demo shop ready: {stores} stores, {members} members, {purchases} purchases, "
            "{redemptions} rewards redeemed.".format(**counts)
        ))
        self.stdout.write(
            f"  staff (manager): {logins.manager}\n"
            f"  staff (cashier): {logins.cashier}\n"
            f"  member:          {logins.member}\n"
            f"  password for all three: {logins.password}"
        )

from django.core.management.base import BaseCommand, CommandError

from programs.selectors import ledger_breaches


class Command(BaseCommand):
    help = ("Check for every membership that balance = sum of entries = sum of lots' remaining "
            "points - points owed, and that no lot is below zero. Exits non-zero on any breach.")

    def handle(self, *args, **options):
        breaches = list(ledger_breaches())
        for b in breaches:
            self.stderr.write(
                f"membership {b['membership']}: balance {b['balance']}, entries add up to "
                f"{b['entries']}, lots hold {b['lots']} with {b['owed']} owed; pending "
                f"{b['pending']} vs {b['lots_pending']} in pending lots; lowest lot {b['lowest_lot']}"
            )
        if breaches:
            raise CommandError(f"The ledger is broken for {len(breaches)} membership(s).")
        self.stdout.write(self.style.SUCCESS("The ledger adds up for every membership."))

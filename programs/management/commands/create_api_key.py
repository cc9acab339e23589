from django.core.management.base import BaseCommand, CommandError

from programs.models import Store
from programs.services import create_api_key


class Command(BaseCommand):
    help = ("Make an API key for a store's till or web shop and print it, once: only its hash is "
            "kept, so it cannot be shown again.")

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's code, e.g. main-street.")
        parser.add_argument("--name", default="", help="What the key is for, e.g. 'till 2'.")

    def handle(self, *args, store, name, **options):
        found = Store.objects.filter(code=store).first()
        if found is None:
            codes = ", ".join(Store.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"There is no store with the code {store!r}. "
                               + (f"Stores: {codes}." if codes else "There are no stores yet."))
        if not found.is_active:
            raise CommandError(f"The store {store!r} is not active; its keys would be refused.")
        api_key, plaintext = create_api_key(store=found, name=name)
        self.stdout.write(f"API key for {found.name} ({found.code})"
                          + (f", {api_key.name}" if api_key.name else "") + ":")
        self.stdout.write("")
        self.stdout.write(f"    {plaintext}")
        self.stdout.write("")
        self.stdout.write(self.style.WARNING(
            "Copy it now: it cannot be shown again. Send it as 'Authorization: Bearer <key>'."))

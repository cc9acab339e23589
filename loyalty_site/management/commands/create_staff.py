from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from loyalty_site import services
from loyalty_site.roles import STAFF_ROLES


class Command(BaseCommand):
    help = "Give a person a staff role and email them a link to choose a password."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--role", required=True, choices=STAFF_ROLES)

    def handle(self, *args, email, name, role, **options):
        try:
            user, created = services.add_staff_member(actor=None, email=email, name=name, role=role)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if created:
            services.send_staff_invitation(user=user, inviter=None)
            self.stdout.write(self.style.SUCCESS(
                f"{email} is a {role}; an email with a link to choose a password is on its way."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{email} is a {role}; their password is unchanged."))

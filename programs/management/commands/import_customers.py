from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from programs import imports, services
from programs.models import Program


class Command(BaseCommand):
    help = ("Import existing customers and opening balances from a CSV file into a program "
            "(docs/import.md): the whole file or nothing, once per file. --dry-run only checks.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--program", required=True, help="the program's code (slug)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")

    def handle(self, *args, file, program, dry_run, **options):
        slug, program = program, Program.objects.filter(slug=program).first()
        if program is None:
            raise CommandError(f"There is no program with the code {slug!r}.")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        if dry_run:
            checked = imports.check_customer_file(data, program=program)
            for line, message in checked.errors:
                self.stderr.write(f"line {line}: {message}" if line else message)
            if checked.imported:
                raise CommandError(f"This file was imported into {program.slug} already "
                                   f"(import {checked.imported.pk}).")
            if checked.errors:
                raise CommandError(f"{len(checked.errors)} error(s); nothing would be imported.")
            self.stdout.write(f"{len(checked.rows)} customers ({checked.new_people} new, "
                              f"{checked.existing_people} known by email), {checked.points} points: "
                              "ready to import.")
            return
        try:
            batch = services.import_customers(data=data, program=program, actor=None,
                                              file_name=file.name)
        except services.ImportRefused as refused:
            for message in refused.messages:
                self.stderr.write(message)
            raise CommandError("Nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported {batch.rows} customers ({batch.members_created} new members) with "
            f"{batch.points} points into {program.slug} (import {batch.pk})."))

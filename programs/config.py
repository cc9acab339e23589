"""The shop's earning configuration, kept per process and checked on every purchase.

A purchase needs the active programs and their earning rules, the bonus campaigns, the tiers,
and whether any offer or paid plan could apply to it: a few dozen rows that change a few times
a month, but which cost a purchase five queries and a third of its CPU when read each time. A
process keeps them as a `Snapshot`, stamped with the token in `ConfigStamp`; database triggers
on those tables (and on any an app adds with `stamped_by`) write a new random token in the same
transaction as the change, so one indexed read tells a purchase whether its process's snapshot
is still the configuration in force. A random token rather than a counter: a rolled-back change
must never leave two different configurations under one stamp.

Apps keep their own values in the snapshot with `register`; they are built with it and
thrown away with it. Snapshot objects are shared by every request of the process: read them,
never change them.
"""

import copy
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, migrations
from django.utils import timezone

from .models import BonusCampaign, EarningRule, Offer, Plan, Program, Tier

_builders = {}
_local = threading.local()


def register(key, build):
    """Keep `build()`'s value in the snapshot as `snapshot.extra[key]`, rebuilt with it. The
    app must also stamp the tables the value is read from (`stamped_by` in a migration)."""
    _builders[key] = build


@dataclass
class Snapshot:
    stamp: str | None
    programs: list = field(default_factory=list)  # active programs, id order, with `.rules`
    campaigns: dict = field(default_factory=dict)  # program id -> active campaigns
    tiers: dict = field(default_factory=dict)  # program id -> tiers, lowest first
    offers: dict = field(default_factory=dict)  # program id -> [(sent_at, valid_until)]
    programs_with_plans: frozenset = frozenset()
    extra: dict = field(default_factory=dict)

    def programs_with_rules_at(self, when):
        """Copies of the active programs that have an earning rule in force at `when`, each
        with that rule as `.rule`, in id order."""
        found = []
        for program in self.programs:
            rule = next((r for r in program.rules if r.effective_from <= when), None)
            if rule is not None:
                program = copy.copy(program)
                program.rule = rule
                found.append(program)
        return found

    def campaigns_in_force(self, program_id, *, store, when, tier):
        """The program's active campaigns on `when`'s day in the shop, for this store and tier."""
        day = timezone.localdate(when)
        return [c for c in self.campaigns.get(program_id, ())
                if c.starts_on <= day <= c.ends_on and c.store_id in (None, store.pk)
                and (c.minimum_tier is None or (tier is not None and tier.rank >= c.minimum_tier.rank))]

    def offers_possible(self, program_id, when):
        """False when no sent offer of the program is valid on `when`'s day: no member can
        hold a usable grant, and the purchase need not look."""
        day = timezone.localdate(when)
        return any(sent_at <= when and valid_until >= day
                   for sent_at, valid_until in self.offers.get(program_id, ()))


def _read_stamp():
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM programs_configstamp WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _build(stamp):
    snapshot = Snapshot(stamp)
    rules = defaultdict(list)
    for rule in EarningRule.objects.filter(program__is_active=True).order_by(
            "program_id", "-effective_from", "-version"):
        rules[rule.program_id].append(rule)
    for program in Program.objects.filter(is_active=True).order_by("pk"):
        program.rules = rules[program.pk]
        snapshot.programs.append(program)
    for campaign in (BonusCampaign.objects.filter(is_active=True).select_related("minimum_tier")
                     .order_by("pk")):
        snapshot.campaigns.setdefault(campaign.program_id, []).append(campaign)
    for tier in Tier.objects.order_by("program_id", "rank"):
        snapshot.tiers.setdefault(tier.program_id, []).append(tier)
    for program_id, sent_at, valid_until in Offer.objects.filter(sent_at__isnull=False).values_list(
            "program_id", "sent_at", "valid_until"):
        snapshot.offers.setdefault(program_id, []).append((sent_at, valid_until))
    snapshot.programs_with_plans = frozenset(Plan.objects.values_list("program_id", flat=True))
    snapshot.extra = {key: build() for key, build in _builders.items()}
    return snapshot


def snapshot():
    """The configuration in force, rebuilt only when it changed since this process (thread)
    last looked. One small query when nothing changed; no caching while no stamp exists."""
    stamp = _read_stamp()
    current = getattr(_local, "snapshot", None)
    if current is None or stamp is None or current.stamp != stamp:
        current = _local.snapshot = _build(stamp)
    return current


# --- The stamp triggers, for migrations ------------------------------------------------------

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION programs_config_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO programs_configstamp (id, token) VALUES (1, md5(random()::text || clock_timestamp()::text))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
_SQLITE_BUMP = ("INSERT INTO programs_configstamp (id, token) VALUES (1, lower(hex(randomblob(16)))) "
                "ON CONFLICT (id) DO UPDATE SET token = excluded.token;")


def _create_triggers(table):
    def create(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(_POSTGRES_FUNCTION, params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION programs_config_changed();",
                params=None)
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_config_changed_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN {_SQLITE_BUMP} END;", params=None)
    return create


def _drop_triggers(table):
    def drop(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed ON {table};",
                                  params=None)
        elif vendor == "sqlite":
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed_{event};",
                                      params=None)
    return drop


def stamped_by(table):
    """A migration operation: every change to `table` replaces the configuration's stamp."""
    return migrations.RunPython(_create_triggers(table), _drop_triggers(table))

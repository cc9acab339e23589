"""Bronze, Silver and Gold for the demo shop (`manage.py demo`); loyalty_site.demo calls this
before the year of purchases is replayed, so members climb as they shop."""


from .models import Program, Reward, Tier
from .program_templates import TIERS

# The tiers of the setup's "Points with tiers" template, with the demo café's perks.
PERKS = ["A coffee on your birthday.", "Free delivery on web orders.",
         "Early access to sales, and a free coffee every Friday."]


def build_demo_tiers(program):
    """Points earned in the last 12 months, 14 days' grace; a Gold-only reward. Idempotent."""
    Program.objects.filter(pk=program.pk).update(
        tier_basis=Program.TierBasis.POINTS, tier_window=Program.TierWindow.ROLLING,
        tier_grace_days=14, tier_reminders=True)
    tiers = []
    for rank, ((name, names, threshold, multiplier), perks) in enumerate(zip(TIERS, PERKS, strict=True)):
        tier, _created = Tier.objects.get_or_create(program=program, rank=rank, defaults={
            "name": name, "names": names, "threshold": threshold, "multiplier": multiplier,
            "perks": perks})
        tiers.append(tier)
    Reward.objects.get_or_create(program=program, name="Gold members' tasting menu", defaults={
        "kind": Reward.Kind.EXPERIENCE, "cost": 800, "stock": 12, "minimum_tier": tiers[-1]})
    return tiers

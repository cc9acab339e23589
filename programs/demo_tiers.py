"""Bronze, Silver and Gold for the demo shop (`manage.py demo`); loyalty_site.demo calls this
before the year of purchases is replayed, so members climb as they shop."""

from decimal import Decimal

from .models import Program, Reward, Tier

TIERS = [
    ("Bronze", {"sv": "Brons", "pl": "Brązowy", "ja": "ブロンズ"}, 0, Decimal("1"),
     "A coffee on your birthday."),
    ("Silver", {"sv": "Silver", "pl": "Srebrny", "ja": "シルバー"}, 500, Decimal("1.25"),
     "Free delivery on web orders."),
    ("Gold", {"sv": "Guld", "pl": "Złoty", "ja": "ゴールド"}, 1500, Decimal("1.5"),
     "Early access to sales, and a free coffee every Friday."),
]


def build_demo_tiers(program):
    """Points earned in the last 12 months, 14 days' grace; a Gold-only reward. Idempotent."""
    Program.objects.filter(pk=program.pk).update(
        tier_basis=Program.TierBasis.POINTS, tier_window=Program.TierWindow.ROLLING,
        tier_grace_days=14, tier_reminders=True)
    tiers = []
    for rank, (name, names, threshold, multiplier, perks) in enumerate(TIERS):
        tier, _created = Tier.objects.get_or_create(program=program, rank=rank, defaults={
            "name": name, "names": names, "threshold": threshold, "multiplier": multiplier,
            "perks": perks})
        tiers.append(tier)
    Reward.objects.get_or_create(program=program, name="Gold members' tasting menu", defaults={
        "kind": Reward.Kind.EXPERIENCE, "cost": 800, "stock": 12, "minimum_tier": tiers[-1]})
    return tiers

"""Bonus campaigns: which apply to a purchase, and how a basket splits between them.

The order of combination (docs/campaigns.md): every part of the basket earns
amount × points per unit × tier multiplier × plan multiplier × the largest campaign multiplier
that covers that part (campaigns do not stack with each other), and the purchase's points are
the sum over its parts, rounded down once at the end. A part is the lines of one product
category; what the lines do not account for is one more part, with no category. A purchase
without lines is one part. A stamp card earns its points per visit times the largest
multiplier of any campaign that covers something in the basket.
"""

from dataclasses import dataclass
from decimal import Decimal

from .models import BonusCampaign


@dataclass(frozen=True)
class BasketPart:
    category: str  # "" for what no line's category accounts for
    amount: Decimal
    campaign: BonusCampaign | None

    @property
    def multiplier(self):
        return self.campaign.multiplier if self.campaign else Decimal(1)


def _best(campaigns, category):
    """The covering campaign with the largest multiplier: store- and tier-wide ones cover every
    part, a category campaign only its own category."""
    covering = [c for c in campaigns if not c.category or c.category.casefold() == category]
    return max(covering, key=lambda c: (c.multiplier, -c.pk), default=None)


def basket_parts(amount, lines, campaigns):
    """Split a purchase of `amount` with item `lines` (PurchaseItem, unsaved is fine) into
    parts, each with the campaign that covers it (`campaigns` may hold the member's offers,
    which cover the whole basket). Line totals above the amount paid (a
    discount on the whole receipt) are scaled down to it."""
    totals = {}
    for line in lines:
        category = line.category.strip().casefold()
        totals[category] = totals.get(category, Decimal(0)) + line.quantity * line.unit_price
    lined = sum(totals.values(), Decimal(0))
    if lined > amount:
        totals = {category: total * amount / lined for category, total in totals.items()}
        lined = amount
    totals[""] = totals.get("", Decimal(0)) + (amount - lined)
    return [BasketPart(category, total, _best(campaigns, category))
            for category, total in sorted(totals.items()) if total > 0]


def campaign_note(parts):
    """What an earn entry records of the campaigns and offers that raised it ("Coffee week ×3")."""
    used = {(type(part.campaign), part.campaign.pk): part.campaign for part in parts if part.campaign}
    return ", ".join(f"{c.name} ×{c.multiplier.normalize():f}" for c in used.values())

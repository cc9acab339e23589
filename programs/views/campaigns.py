"""Bonus campaigns in the staff dashboard: running, upcoming and past, and what a basket earns."""

from datetime import datetime, time

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.permissions import staff_required
from loyalty_site.services import log_staff_action

from ..forms import BasketPreviewForm, CampaignForm
from ..models import BonusCampaign
from ..purchases import preview_points


@staff_required("manage_programs")
def campaign_list(request):
    today = timezone.localdate()
    campaigns = list(BonusCampaign.objects.select_related("program", "store", "minimum_tier")[:200])
    preview = BasketPreviewForm(request.GET if "amount" in request.GET else None,
                                initial={"day": today})
    result = None
    if preview.is_bound and preview.is_valid():
        data = preview.cleaned_data
        when = timezone.make_aware(datetime.combine(data["day"], time(12)))
        points, parts = preview_points(data["program"], amount=data["amount"], lines=preview.lines(),
                                       store=data["store"], when=when, tier=data["tier"])
        result = {"points": points, "parts": parts, "tier": data["tier"]}
    return render(request, "staff/campaigns/list.html", {
        "running": [c for c in campaigns if c.is_active and c.starts_on <= today <= c.ends_on],
        "upcoming": [c for c in campaigns if c.is_active and c.starts_on > today],
        "past": [c for c in campaigns if not c.is_active or c.ends_on < today][:50],
        "preview": preview, "result": result,
    })


def _edit(request, campaign):
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        creating = campaign.pk is None
        if creating:
            form.instance.created_by = request.user
        campaign = form.save()
        log_staff_action(actor=request.user,
                         action="programs.campaign.created" if creating else "programs.campaign.changed",
                         data={"campaign": campaign.pk, "name": campaign.name,
                               "multiplier": str(campaign.multiplier),
                               "days": [str(campaign.starts_on), str(campaign.ends_on)]})
        messages.success(request, _("Campaign “%(name)s” saved.") % {"name": campaign.name})
        return redirect("staff:campaigns")
    return render(request, "staff/campaigns/edit.html", {"form": form, "campaign": campaign})


@staff_required("manage_programs")
def campaign_new(request):
    return _edit(request, BonusCampaign())


@staff_required("manage_programs")
def campaign_edit(request, campaign_id):
    return _edit(request, get_object_or_404(BonusCampaign, pk=campaign_id))

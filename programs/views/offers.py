"""One-off offers to a segment: write one, see who would get it, send it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loyalty_site.permissions import staff_required

from .. import offers, segments
from ..forms import OfferForm
from ..models import Offer


@staff_required("manage_programs")
def offer_list(request):
    rows = (Offer.objects.select_related("program", "segment")
            .annotate(given=Count("grants"), used=Count("grants", filter=Q(grants__used_at__isnull=False)))
            [:100])
    return render(request, "staff/offers/list.html", {"offers": rows})


@staff_required("manage_programs")
def offer_new(request):
    form = OfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        offer = form.save()
        return redirect("staff:offer", offer_id=offer.pk)
    return render(request, "staff/offers/new.html", {"form": form})


@staff_required("manage_programs")
def offer_detail(request, offer_id):
    offer = get_object_or_404(Offer.objects.select_related("program", "segment"), pk=offer_id)
    counts = offer.grants.aggregate(given=Count("pk"), used=Count("pk", filter=Q(used_at__isnull=False)))
    return render(request, "staff/offers/detail.html", {
        "offer": offer, **counts,
        "size": None if offer.sent_at else segments.segment_size(offer.segment),
    })


@staff_required("manage_programs")
@require_POST
def offer_send(request, offer_id):
    offer = get_object_or_404(Offer, pk=offer_id)
    try:
        given = offers.send_offer(offer=offer, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Offer given to %(count)s members; their emails are on the way.")
                         % {"count": given})
    return redirect("staff:offer", offer_id=offer.pk)

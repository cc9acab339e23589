"""The staff dashboard's own pages: sign-in, home, what comes next, the team, the outbox."""

from allauth.account.utils import get_next_redirect_url
from allauth.account.views import LoginView
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from programs import selectors as program_selectors

from .. import selectors, services
from ..forms import StaffMemberForm
from ..models import OutboxEmail
from ..permissions import staff_required
from ..roles import perm


class StaffLoginView(LoginView):
    """allauth's sign-in, in the dashboard's clothes; it lands on /staff/ afterwards."""

    template_name = "staff/login.html"

    def get_success_url(self):
        return get_next_redirect_url(self.request) or reverse("staff:home")


@staff_required()
def home(request):
    if request.user.is_superuser and program_selectors.needs_first_run_setup():
        return redirect("staff:setup")
    can_view_metrics = request.user.has_perm(perm("view_metrics"))
    return render(request, "staff/home.html", {
        "overview": program_selectors.shop_overview(with_revenue=can_view_metrics),
        "can_view_metrics": can_view_metrics,
    })


@staff_required()
def roadmap(request):
    return render(request, "staff/roadmap.html")


@staff_required("manage_staff")
def team(request):
    form = StaffMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, created = services.add_staff_member(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if created:
                services.send_staff_invitation(user=user, inviter=request.user)
                messages.success(request, _("%(name)s is on the team. We emailed them a link "
                                            "to choose a password.") % {"name": user})
            else:
                messages.success(request, _("%(name)s is on the team and can sign in with "
                                            "their existing password.") % {"name": user})
            return redirect("staff:team")
    return render(request, "staff/team.html", {"form": form, "team": selectors.staff_members()})


@require_POST
@staff_required("manage_staff")
def remove_from_team(request, user_id):
    user = get_object_or_404(selectors.staff_members(), pk=user_id)
    try:
        services.remove_staff_member(actor=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s is no longer on the team.") % {"name": user})
    return redirect("staff:team")


@staff_required("view_outbox")
def outbox(request):
    status = request.GET.get("status", "")
    emails = selectors.outbox_emails(status=status)
    page = Paginator(emails, 50).get_page(request.GET.get("page"))
    return render(request, "staff/outbox.html", {
        "page": page,
        "status": status,
        "statuses": OutboxEmail.Status.choices,
        "counts": selectors.outbox_counts(),
    })


@require_POST
@staff_required("view_outbox")
def retry_email(request, email_id):
    email = get_object_or_404(OutboxEmail, pk=email_id)
    if services.retry_failed_email(email=email, actor=request.user):
        messages.success(request, _("The email to %(to)s is queued again.") % {"to": email.to_email})
    else:
        messages.info(request, _("Only failed emails can be sent again."))
    return redirect("staff:outbox")



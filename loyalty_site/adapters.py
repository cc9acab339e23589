from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.template.loader import render_to_string

from . import services
from .models import EmailCategory, User


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's emails through the outbox, in the shop's name and layout."""

    def send_mail(self, template_prefix, email, context):
        site = SimpleNamespace(name=settings.SHOP_NAME, domain=settings.SITE_URL.split("://")[-1])
        ctx = {"email": email, "current_site": site, **context}
        # allauth's own subject and text templates are translated in our four languages.
        message = self.render_mail(template_prefix, email, ctx)
        body_html = render_to_string(
            "emails/account_message.html",
            {"subject": message.subject, "body": message.body, "shop_name": settings.SHOP_NAME},
        )
        services.write_to_outbox(
            kind=template_prefix, category=EmailCategory.ESSENTIAL, to=email,
            user=User.objects.filter(email__iexact=email).first(),
            subject=message.subject, body_text=message.body, body_html=body_html,
        )

    def save_user(self, request, user, form, commit=True):
        from programs.services import enrol_member

        user = super().save_user(request, user, form, commit=commit)
        if commit:
            enrol_member(user=user, source="portal", request=request,
                         referral_code=form.cleaned_data.get("referral_code", ""))
        return user

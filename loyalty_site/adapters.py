from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from programs.business import shop_name

from . import services
from .models import EmailCategory, User


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's emails through the outbox, in the shop's name and layout."""

    def send_mail(self, template_prefix, email, context):
        site = SimpleNamespace(name=shop_name(), domain=settings.SITE_URL.split("://")[-1])
        ctx = {"email": email, "current_site": site, **context}
        # allauth's own subject and text templates are translated in our four languages.
        message = self.render_mail(template_prefix, email, ctx)
        body_html = render_to_string(
            "emails/account_message.html",
            {"subject": message.subject, "body": message.body, "shop_name": shop_name()},
        )
        services.write_to_outbox(
            kind=template_prefix, category=EmailCategory.ESSENTIAL, to=email,
            user=User.objects.filter(email__iexact=email).first(),
            subject=message.subject, body_text=message.body, body_html=body_html,
        )

    def format_email_subject(self, subject):
        # The setting's prefix was fixed at start-up; the name chosen in the setup wins.
        return f"[{shop_name()}] {subject}"

    def save_user(self, request, user, form, commit=True):
        from programs.selectors import signup_store
        from programs.services import enrol_member

        # The language the visitor signed up in (their choice or their browser's, as
        # LocaleMiddleware found it) becomes the account's: without it the portal would turn
        # to the default language at the first sign-in, and emails would go out in it.
        user.language = translation.get_supported_language_variant(translation.get_language())
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # A poster's QR code and an embedded form name the store the person joined at.
            store = signup_store(request.POST.get("store") or request.GET.get("store"))
            enrol_member(user=user, store=store, source="portal", request=request,
                         referral_code=form.cleaned_data.get("referral_code", ""))
        return user

"""How surveys follow the programs core (programs.signals)."""

from . import selectors, services


def invite_after_purchase(sender, purchase, **kwargs):
    # Inside the purchase's transaction: the invitation commits with the purchase or not at all.
    # The email itself goes out later, from the periodic task, once the survey's delay is over.
    services.invite_after_purchase(purchase=purchase)


def collect_member_data(sender, member, **kwargs):
    return selectors.member_data(member)


def forget_member(sender, member, now, **kwargs):
    services.forget_member(member=member, now=now)

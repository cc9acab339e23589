"""How surveys follow the programs core (programs.signals)."""

from . import services


def invite_after_purchase(sender, purchase, **kwargs):
    # Inside the purchase's transaction: the invitation commits with the purchase or not at all.
    # The email itself goes out later, from the periodic task, once the survey's delay is over.
    services.invite_after_purchase(purchase=purchase)

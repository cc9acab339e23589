"""What referrals announce, for the site's webhooks (loyalty_site imports this; never the core).

Sent inside the transaction of the write, after it is done, as programs.signals are: a receiver
writes its rows in that transaction, and work for after the commit goes in on_commit.
"""

from django.dispatch import Signal

# A referral qualified: the friend's purchase met the program's rules (at once, or when staff
# approved a flagged referral that had its purchase). Its review period runs from now and the
# payout follows. Arguments: referral (with .program, .referrer, .friend and .purchase).
referral_qualified = Signal()

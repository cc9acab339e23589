"""What the programs core announces, so that referrals, surveys and webhooks can follow it
without the core importing them (programs is the core; the other apps may import it, never the
other way).

Every signal is sent inside the transaction of the write it announces, after the write is
done. A receiver that raises rolls the whole write back: a receiver may refuse bad input (a
ValidationError reaches the till or the API as a clear message) but must never fail for any
other reason. Work that should happen only once the write is committed (emails, tasks) belongs
in `transaction.on_commit` inside the receiver.
"""

from django.dispatch import Signal

# A person got a member card. Arguments: member, store (or None), source ("portal", "api",
# "till", "import", "demo"), referral_code (as typed, or ""), request (or None).
member_enrolled = Signal()

# A purchase was recorded for the first time (never for a repeat). Arguments: purchase,
# actor (the cashier, or None for the API), referral_code (typed at the till, or "").
purchase_recorded = Signal()

# A refund was recorded for the first time. Arguments: refund (with .purchase), actor.
purchase_refunded = Signal()

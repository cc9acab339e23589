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

# A person who already had a card gave a referral code (a web shop enrolling them again with
# one). Arguments: member, store (or None), source, referral_code. Referrals decides whether it
# still counts (a recent sign-up who has not bought yet) or records why not; never silent.
referral_code_given = Signal()

# A purchase was recorded for the first time (never for a repeat). Arguments: purchase,
# actor (the cashier, or None for the API), referral_code (typed at the till, or ""), config
# (the programs.config.Snapshot the purchase was reckoned with; values an app registered
# there are in its `extra`).
purchase_recorded = Signal()

# A refund was recorded for the first time. Arguments: refund (with .purchase), actor.
purchase_refunded = Signal()

# A member's personal data is being gathered for them to download (their right of access).
# Sent by programs.personal_data.member_data. Arguments: member. Each receiver returns a dict
# {section name: [rows]}, a row being a dict of plain JSON values (str, int, bool, None; times as
# ISO 8601 strings), e.g. {"referrals": [{"code": "AB12", "invited_at": "2026-…"}]}. Sections
# become keys of the JSON download and files of the CSV download. Read only; never write here.
collect_member_data = Signal()

# A member is closing their account (their right to erasure). Sent by
# programs.services.close_member inside the closing transaction, after their unused codes are
# cancelled and their card is closed, and BEFORE the person's own data (email, name, phone) is
# removed, so a receiver can still match its rows by the person's email. Arguments: member, now.
# Receivers anonymise or delete their own rows about the person; they keep what a total depends
# on (points, counts), as the ledger does.
member_closing = Signal()

# Points were added to or taken from a membership by one move: a purchase, a bonus, a staff
# adjustment, a reward, a payment with points, a refund, a cancelled code. Sent by the ledger's
# credit, debit and restore, so that no single move is missed whichever service made it; not
# sent by the set-based jobs that write thousands of entries at once (expiry, an import's
# opening balances). Arguments: entry (the LedgerEntry; entry.membership has its program).
points_changed = Signal()

# A member spent points on a reward and got its code (programs.services.redeem_reward; not for
# a reward given free). Sent after the points were taken. Arguments: redemption (with .reward
# and .membership).
reward_redeemed = Signal()

# Members moved from one tier to another (or into or out of every tier): a purchase's upgrade,
# a change by staff, or the scheduled re-evaluation, which moves many at once. Arguments:
# changes (a list of TierChange rows).
tier_changed = Signal()

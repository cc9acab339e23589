"""What surveys announce, for the site's webhooks (loyalty_site imports this; never the core).

Sent inside the transaction of the write, after it is done, as programs.signals are: a receiver
writes its rows in that transaction, and work for after the commit goes in on_commit.
"""

from django.dispatch import Signal

# A member's answer to a survey was confirmed (a button pressed, or a clicked answer whose page
# stayed open), and again each time they change it within the edit window. Arguments:
# invitation (with .survey and .member; its comment, if any, is saved), answers ({question:
# value}, the confirmed ones), now.
survey_answered = Signal()

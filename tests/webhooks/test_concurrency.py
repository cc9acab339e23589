"""Two senders at once never send the same delivery: each locks its row FOR UPDATE SKIP LOCKED
for the length of the request. Real transactions, real threads, a slow local receiver."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loyalty_site import webhooks
from loyalty_site.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def waiting(endpoint):
    """A delivery written straight to the table: here, outside a test transaction, publishing
    would send it at once on commit, and these tests need it waiting."""
    payload = webhooks.event(webhooks.PING, {}, now=timezone.now())
    return WebhookDelivery.objects.create(endpoint=endpoint, event_id=payload["id"],
                                          event_type=webhooks.PING, payload=payload)


def in_thread(work):
    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_delivery_locked_by_one_sender_is_skipped_by_another(endpoint, receiver):
    delivery = waiting(endpoint)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
            locked.set()
            release.wait(10)

    holder = in_thread(hold_the_row)
    assert locked.wait(10)
    assert webhooks.send_due() == 0  # skipped, not waited for
    release.set()
    holder.join()
    assert webhooks.send_due() == 1
    assert len(receiver.requests) == 1


def test_two_workers_sweeping_together_send_each_delivery_once(endpoint, receiver):
    receiver.delay = 0.2  # each request takes a while, so the two sweeps overlap
    ids = {str(waiting(endpoint).pk) for _n in range(6)}
    counts = []
    workers = [in_thread(lambda: counts.append(webhooks.send_due())) for _worker in range(2)]
    for worker in workers:
        worker.join()
    sent = [request["headers"]["Patron-Delivery"] for request in receiver.requests]
    assert sorted(sent) == sorted(ids)  # every one, none twice
    assert sum(counts) == 6 and all(counts)  # both workers took a share
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}

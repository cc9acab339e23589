"""Real parallel connections for concurrency tests (use with django_db(transaction=True))."""

import threading

from django.db import connection


def run_in_parallel(count, work):
    """Start `count` threads that call work(i) at the same moment; return results or errors.

    Each thread has its own database connection, closed when it is done.
    """
    start = threading.Barrier(count)
    outcomes = [None] * count

    def runner(i):
        try:
            start.wait()
            outcomes[i] = work(i)
        except Exception as error:  # returned to the caller, which asserts on it
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes

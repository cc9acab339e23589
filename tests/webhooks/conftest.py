"""A local HTTP receiver for webhook tests, and an endpoint that listens to every event."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loyalty_site import webhooks

# The programs tests' shop (a SEK spend program with a reward), store and customer serve here too.
from ..programs.conftest import coffee, customer, shop, store  # noqa: F401


class Receiver:
    """Answers each POST with the next status in `answers` (the last one repeats), after
    `delay` seconds, and keeps every request it was sent."""

    def __init__(self):
        self.answers = [200]
        self.delay = 0.0
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body,
                                              "path": self.path})
                    status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                time.sleep(receiver.delay)
                reply = f"answer {status}".encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass  # quiet in the test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/patron-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(receiver, manager):
    return webhooks.create_endpoint(actor=manager, url=receiver.url, description="Web shop",
                                    event_types=webhooks.EventType.values)

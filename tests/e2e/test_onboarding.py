"""The first-run setup, a poster and the embedded sign-up, in a real browser.

Screenshots: artifacts/<test>--setup-*.png, --poster.png, --table-tent.png and --embed.png.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from programs.models import Program, Store
from tests.factories import UserFactory

from .conftest import DESKTOP, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_the_owner_sets_up_the_shop_and_prints_a_poster(open_page, screenshot):
    owner = UserFactory(email="owner@example.com", is_superuser=True, is_staff=True)
    page = open_page(DESKTOP, as_user=owner)
    page.goto("/staff/")
    expect(page.get_by_test_id("setup-business")).to_be_visible()
    page.get_by_label("Business name").fill("Kafé Lind")
    page.get_by_label("Currency").fill("SEK")
    page.get_by_label("Time zone").fill("Europe/Stockholm")
    page.get_by_label("Swedish").check()
    screenshot(page, "setup-business")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Your stores").fill("Storgatan\nHamnen")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Program name").fill("Lind Club")
    page.get_by_label("Stamp card", exact=False).check()
    screenshot(page, "setup-program")
    page.get_by_role("button", name="Create the program").click()
    expect(page.get_by_test_id("setup-ready")).to_be_visible()
    assert Store.objects.count() == 2 and Program.objects.get().kind == "visits"

    choice = f"program={Program.objects.get().pk}&store={Store.objects.get(code='hamnen').pk}&language=sv"
    page.goto(f"/staff/materials/?{choice}")
    page.goto(f"/staff/materials/poster/?{choice}")
    poster = page.get_by_test_id("poster")
    expect(poster.locator("svg.qr")).to_be_visible()
    assert poster.locator("svg.qr").bounding_box()["width"] > 250  # about 90 mm on A4
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    screenshot(page, "poster")
    page.goto(f"/staff/materials/table-tent/?program={Program.objects.get().pk}&language=sv")
    screenshot(page, "table-tent")


@pytest.fixture
def shop_site(live_server):
    """The shop's own web site: a page on another local server that embeds the sign-up with
    patron-embed.js. Returns its origin."""
    host = (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><h1>Kafé Lind</h1>'
            f'<div data-patron-join data-store="storgatan"></div>'
            f'<script src="{live_server.url}/static/js/patron-embed.js"></script></body></html>').encode()

    class ShopPage(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(host)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_sign_up_shows_in_a_frame_on_the_shops_site_and_grows_with_it(
        open_page, screenshot, settings, shop_site):
    settings.EMBED_ALLOWED_ORIGINS = [shop_site]
    Store.objects.get_or_create(code="storgatan", defaults={"name": "Storgatan"})
    page = open_page(DESKTOP)
    page.goto(f"{shop_site}/")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("embed-form")).to_be_visible()
    # The frame is as tall as its form (no scroll bar), not the 640 px it starts at.
    page.wait_for_function("document.querySelector('iframe').style.height !== '640px'")
    height = page.locator("iframe").bounding_box()["height"]
    assert 300 < height < 2000
    screenshot(page, "embed")

"""QR codes for the till, and the member card as a wallet-style image.

segno draws the QR codes (SVG for pages, PNG for the image) in pure Python; Pillow composes the
card image. Both only draw: what goes on a card is the caller's to choose.
"""

import io
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

# Error correction M survives a scratched phone screen or glare; full-size QR only (micro=False):
# segno would otherwise pick a Micro QR for a ten-digit number, which phone cameras and many
# till scanners cannot read.
ERROR_CORRECTION = "m"


def _qr(text):
    return segno.make(str(text), error=ERROR_CORRECTION, micro=False, boost_error=False)


def qr_svg(text, *, title=""):
    """An inline <svg> of a QR code for `text`, black on white with the standard four-module
    quiet zone, sized by CSS (no width or height). `title` is its accessible name."""
    svg = _qr(text).svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr", lineclass=None, title=title or None,
        dark="#000", light="#fff",
    )
    return svg.replace("<svg ", '<svg role="img" ' if title else '<svg aria-hidden="true" ', 1)


# --- The member card as an image -------------------------------------------------------------

CARD_SIZE = (720, 1080)  # portrait, 2:3: a phone shows it whole, like a wallet pass
CARD_GREEN = (0, 137, 90)  # the portal's --patron-card-from
CARD_GREEN_DARK = (1, 95, 67)  # --patron-card-to
WHITE = (255, 255, 255)
INK = (29, 42, 53)
MUTED = (93, 107, 102)

# Fonts tried in order; the first found is used. Noto CJK first, so that a Japanese shop or
# member name is drawn rather than shown as boxes; DejaVu and Liberation cover Latin scripts
# with Polish and Swedish letters. Without any, Pillow's built-in font (Latin only) is used.
FONT_CANDIDATES = {
    "regular": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ],
    "bold": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ],
    "mono": [
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    ],
}


@lru_cache(maxsize=64)
def _font(style, size):
    for candidate in FONT_CANDIDATES[style]:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _fitted(draw, text, style, size, max_width, min_size=18):
    """The text in the largest font from `size` down to `min_size` that fits `max_width`;
    below that, cut short with an ellipsis."""
    while size > min_size and draw.textlength(text, font=_font(style, size)) > max_width:
        size -= 2
    font = _font(style, size)
    if draw.textlength(text, font=font) > max_width:
        while text and draw.textlength(text + "…", font=font) > max_width:
            text = text[:-1]
        text += "…"
    return text, font


def _gradient(size, top, bottom):
    """A vertical gradient (Pillow has none built in): one line per row."""
    width, height = size
    image = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        mix = y / max(height - 1, 1)
        colour = tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    return image


def card_png(*, shop_name, member_name, number, display_number, label, since):
    """The member card as PNG bytes: the shop's name, the member's name, a QR code of `number`
    (what the till scans) and `display_number` under it in large grouped digits. `label` and
    `since` are short lines already translated by the caller ("Member", "Since 3 May 2025")."""
    width, height = CARD_SIZE
    margin = 56
    image = _gradient(CARD_SIZE, CARD_GREEN, CARD_GREEN_DARK)
    draw = ImageDraw.Draw(image)

    text, font = _fitted(draw, shop_name, "bold", 48, width - 2 * margin)
    draw.text((margin, 64), text, font=font, fill=WHITE)
    text, font = _fitted(draw, label.upper(), "regular", 26, width - 2 * margin)
    draw.text((margin, 134), text, font=font, fill=(220, 240, 232))

    # The white panel the till's scanner reads from: dark modules on white, with a quiet zone.
    panel_top, panel_bottom = 210, height - 170
    draw.rounded_rectangle([margin, panel_top, width - margin, panel_bottom], radius=28, fill=WHITE)
    qr = _qr(number)
    modules = qr.symbol_size(border=4)[0]
    scale = max(1, (width - 2 * margin - 80) // modules)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    buffer.seek(0)
    code = Image.open(buffer).convert("RGB")
    image.paste(code, ((width - code.width) // 2, panel_top + 36))

    digits_top = panel_top + 36 + code.height + 18
    text, font = _fitted(draw, display_number, "mono", 60, width - 2 * margin - 48)
    draw.text((width // 2, digits_top), text, font=font, fill=INK, anchor="mt")

    text, font = _fitted(draw, member_name, "bold", 40, width - 2 * margin)
    draw.text((margin, panel_bottom + 44), text, font=font, fill=WHITE)
    text, font = _fitted(draw, since, "regular", 26, width - 2 * margin)
    draw.text((margin, panel_bottom + 100), text, font=font, fill=(220, 240, 232))

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()

"""The catalogue of pictograms printed on image authentication cards (SEC-5, 画像認証).

Every pictogram is a simple shape in a solid colour, drawn by code with Pillow, so the
catalogue is deterministic (the same bytes on every machine) and nothing binary is
committed. 12 shapes × 6 colours = 72 pictograms; a card uses 50 of them. Each has a
stable code (stored in the card layout) and a Japanese name (「赤い丸」「青い星」) used as the
image's alt text and by the development helper ``demo_secrets``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 120  # pixels of one pictogram PNG
_SUPERSAMPLE = 4  # drawn 4× larger and scaled down: smooth edges, still deterministic

# (code, Japanese adjective, RGB). Colours far apart in hue and lightness.
COLOURS = [
    ("red", "赤い", (214, 32, 40)),
    ("blue", "青い", (22, 88, 224)),
    ("green", "緑の", (18, 146, 62)),
    ("yellow", "黄色い", (240, 184, 0)),
    ("purple", "紫の", (146, 46, 178)),
    ("black", "黒い", (34, 34, 34)),
]


def _polygon(points):
    def draw(canvas: ImageDraw.ImageDraw, s: float, colour) -> None:
        canvas.polygon([(x * s, y * s) for x, y in points], fill=colour)
    return draw


def _regular(n: int, radius: float, rotation: float = -90.0, cx: float = 0.5, cy: float = 0.5):
    return [
        (cx + radius * math.cos(math.radians(rotation + 360 * i / n)),
         cy + radius * math.sin(math.radians(rotation + 360 * i / n)))
        for i in range(n)
    ]


def _star_points():
    points = []
    for i in range(10):
        radius = 0.44 if i % 2 == 0 else 0.18
        angle = math.radians(-90 + 36 * i)
        points.append((0.5 + radius * math.cos(angle), 0.53 + radius * math.sin(angle)))
    return points


def _circle(canvas, s, colour):
    canvas.ellipse([0.12 * s, 0.12 * s, 0.88 * s, 0.88 * s], fill=colour)


def _square(canvas, s, colour):
    canvas.rectangle([0.16 * s, 0.16 * s, 0.84 * s, 0.84 * s], fill=colour)


def _tangent_point(centre, radius, apex, side):
    """Where a line from ``apex`` touches the circle (left side: -1, right: +1)."""
    dx, dy = centre[0] - apex[0], centre[1] - apex[1]
    distance = math.hypot(dx, dy)
    angle = math.atan2(dy, dx) + side * math.asin(radius / distance)
    length = math.sqrt(distance**2 - radius**2)
    return apex[0] + length * math.cos(angle), apex[1] + length * math.sin(angle)


def _heart(canvas, s, colour):
    radius, apex = 0.215, (0.5, 0.90)
    left, right = (0.305, 0.37), (0.695, 0.37)
    for cx, cy in (left, right):
        canvas.ellipse([(cx - radius) * s, (cy - radius) * s, (cx + radius) * s, (cy + radius) * s],
                       fill=colour)
    outline = [apex, _tangent_point(left, radius, apex, -1), left, right,
               _tangent_point(right, radius, apex, +1)]
    canvas.polygon([(x * s, y * s) for x, y in outline], fill=colour)


def _crescent(canvas, s, colour):
    canvas.ellipse([0.10 * s, 0.10 * s, 0.90 * s, 0.90 * s], fill=colour)
    canvas.ellipse([0.32 * s, 0.02 * s, 1.02 * s, 0.72 * s], fill=(255, 255, 255))


def _cross(canvas, s, colour):
    canvas.rectangle([0.38 * s, 0.10 * s, 0.62 * s, 0.90 * s], fill=colour)
    canvas.rectangle([0.10 * s, 0.38 * s, 0.90 * s, 0.62 * s], fill=colour)


SHAPES = [
    ("circle", "丸", _circle),
    ("square", "四角", _square),
    ("triangle", "三角", _polygon([(0.5, 0.10), (0.92, 0.86), (0.08, 0.86)])),
    ("star", "星", _polygon(_star_points())),
    ("heart", "ハート", _heart),
    ("diamond", "ひし形", _polygon([(0.5, 0.06), (0.86, 0.5), (0.5, 0.94), (0.14, 0.5)])),
    ("hexagon", "六角形", _polygon(_regular(6, 0.42, rotation=0))),
    ("cross", "十字", _cross),
    ("crescent", "三日月", _crescent),
    ("arrow", "矢印", _polygon([(0.5, 0.06), (0.90, 0.48), (0.64, 0.48), (0.64, 0.94),
                              (0.36, 0.94), (0.36, 0.48), (0.10, 0.48)])),
    ("house", "家", _polygon([(0.5, 0.08), (0.90, 0.46), (0.80, 0.46), (0.80, 0.90),
                             (0.20, 0.90), (0.20, 0.46), (0.10, 0.46)])),
    ("bolt", "稲妻", _polygon([(0.58, 0.04), (0.18, 0.56), (0.46, 0.56), (0.36, 0.96),
                              (0.82, 0.40), (0.54, 0.40), (0.66, 0.04)])),
]


@dataclass(frozen=True)
class Pictogram:
    code: str  # stable identifier stored in card layouts, e.g. "red-circle"
    name: str  # Japanese name, e.g. 「赤い丸」
    shape: str
    colour: tuple[int, int, int]


CATALOGUE: dict[str, Pictogram] = {
    f"{colour_code}-{shape_code}": Pictogram(
        code=f"{colour_code}-{shape_code}", name=f"{adjective}{shape_name}",
        shape=shape_code, colour=rgb,
    )
    for shape_code, shape_name, _draw in SHAPES
    for colour_code, adjective, rgb in COLOURS
}
CODES: list[str] = list(CATALOGUE)
_DRAW = {code: draw for code, _name, draw in SHAPES}


def pictogram_name(code: str) -> str:
    return CATALOGUE[code].name


def pictogram_image(code: str, size: int = SIZE) -> Image.Image:
    """The pictogram as an RGB image (white background)."""
    pictogram = CATALOGUE[code]
    big = size * _SUPERSAMPLE
    image = Image.new("RGB", (big, big), (255, 255, 255))
    _DRAW[pictogram.shape](ImageDraw.Draw(image), big, pictogram.colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)


@lru_cache(maxsize=len(CATALOGUE) + 8)
def pictogram_png(code: str) -> bytes:
    """PNG bytes of one pictogram, generated once per process and cached."""
    buffer = io.BytesIO()
    pictogram_image(code).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# Japanese fonts looked for, in order, for the printed card; Pillow's own font otherwise
# (digits and Latin letters only, enough for a test machine without Japanese fonts).
_FONT_PATHS = [
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
]


def japanese_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)

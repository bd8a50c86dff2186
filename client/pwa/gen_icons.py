#!/usr/bin/env python3
"""Draws Parley's app icons as PNGs with only the standard library.

Run once when the logo changes: python3 client/pwa/gen_icons.py
"any" icons are a rounded square; "maskable" ones fill the canvas and keep the
glyph inside the 80 % safe zone the maskable-icon spec requires.
"""
import math
import os
import struct
import zlib

TOP = (0x1B, 0x6E, 0x80)
BOTTOM = (0x12, 0x3F, 0x4C)
WHITE = (0xFF, 0xFF, 0xFF)


def png(path, size, pixels):
    raw = b"".join(b"\x00" + bytes(pixels[y * size * 4:(y + 1) * size * 4]) for y in range(size))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def inside_rounded(x, y, size, radius):
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def bubble(x, y, cx, cy, r):
    """Speech bubble: an ellipse with a tail at the lower left."""
    if ((x - cx) / (1.15 * r)) ** 2 + ((y - cy) / r) ** 2 <= 1:
        return True
    # tail: triangle below-left of the ellipse
    ax, ay = cx - 0.55 * r, cy + 0.55 * r
    bx, by = cx - 0.95 * r, cy + 1.15 * r
    dx, dy = cx - 0.05 * r, cy + 0.8 * r
    def side(px, py, qx, qy):
        return (x - qx) * (py - qy) - (px - qx) * (y - qy)
    s1, s2, s3 = side(ax, ay, bx, by), side(bx, by, dx, dy), side(dx, dy, ax, ay)
    return (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)


def draw(size, maskable):
    px = bytearray(size * size * 4)
    scale = 0.8 if maskable else 1.0
    r = size * 0.26 * scale
    cx, cy = size * 0.5, size * 0.46
    dot_r = r * 0.13
    for y in range(size):
        t = y / (size - 1)
        bg = tuple(round(TOP[i] * (1 - t) + BOTTOM[i] * t) for i in range(3))
        for x in range(size):
            i = (y * size + x) * 4
            if not maskable and not inside_rounded(x + 0.5, y + 0.5, size, size * 0.22):
                continue  # transparent corner
            colour = bg
            if bubble(x + 0.5, y + 0.5, cx, cy, r):
                colour = WHITE
                for k in (-1, 0, 1):
                    if math.hypot(x + 0.5 - (cx + k * r * 0.42), y + 0.5 - cy) <= dot_r:
                        colour = BOTTOM
            px[i:i + 4] = bytes((*colour, 255))
    return px


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icons")
    os.makedirs(out, exist_ok=True)
    for size in (192, 512):
        png(os.path.join(out, f"icon-{size}.png"), size, draw(size, False))
        png(os.path.join(out, f"maskable-{size}.png"), size, draw(size, True))


if __name__ == "__main__":
    main()

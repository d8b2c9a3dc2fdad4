"""Where in a photo a QR code probably is, and how to clean a crop of it up for zbar.

A badge photographed at arm's length puts the code in a few percent of a 12 MP frame. zbar needs about
three pixels per module and more when the picture is soft, so scanning the whole frame at full resolution
is slow, and scanning it shrunk loses the small codes. A QR code, though, is the densest patch of sharp
black/white edges in such a photo (backgrounds are smooth or softly textured, the card's text is sparser),
so the edge density of a quarter-scale image points at it for a few milliseconds, and only that patch is
then taken at full resolution, scaled so its modules are a size zbar likes, and scanned.
"""

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageOps

_CELL = 8
"""Grid cell, in pixels of the image searched; a code too small to span two cells is unreadable anyway."""
_GROW = 0.5
"""A region takes in the neighbouring cells at least this fraction as busy as its peak."""
_QUIET_FLOOR = 2
"""Cells whose mean edge step is under this (out of 255) are flat: sensor noise, not print."""


@dataclass(frozen=True)
class Region:
    """A candidate patch, in the coordinates of the image that was searched."""

    left: int
    top: int
    right: int
    bottom: int
    score: int

    @property
    def side(self) -> int:
        return max(self.right - self.left, self.bottom - self.top)

    def scaled(self, factor: float) -> "Region":
        return Region(
            round(self.left * factor),
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
            self.score,
        )


def edge_density(image: Image.Image) -> Image.Image:
    """Mean absolute step to the right/lower neighbour, averaged over ``_CELL`` squares."""
    right = ImageChops.difference(image, ImageChops.offset(image, 1, 0))
    down = ImageChops.difference(image, ImageChops.offset(image, 0, 1))
    grid = ImageChops.lighter(right, down).reduce(_CELL)
    return grid.filter(ImageFilter.BoxBlur(1))


def find_regions(image: Image.Image, *, limit: int = 3) -> list[Region]:
    """The ``limit`` busiest connected patches of ``image``, busiest first."""
    grid = edge_density(image)
    width, height = grid.size
    cells = grid.tobytes()
    taken = bytearray(len(cells))
    regions: list[Region] = []
    for peak in sorted(range(len(cells)), key=cells.__getitem__, reverse=True):
        if len(regions) >= limit or cells[peak] < _QUIET_FLOOR:
            break
        if taken[peak]:
            continue
        floor = cells[peak] * _GROW
        taken[peak] = 1
        stack = [peak]
        x0 = x1 = peak % width
        y0 = y1 = peak // width
        while stack:
            index = stack.pop()
            x, y = index % width, index // width
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
            for near, inside in (
                (index - 1, x > 0),
                (index + 1, x < width - 1),
                (index - width, y > 0),
                (index + width, y < height - 1),
            ):
                if inside and not taken[near] and cells[near] >= floor:
                    taken[near] = 1
                    stack.append(near)
        regions.append(Region(x0 * _CELL, y0 * _CELL, (x1 + 1) * _CELL, (y1 + 1) * _CELL, cells[peak]))
    return regions


def crop_around(image: Image.Image, region: Region, *, margin: float = 0.3) -> Image.Image:
    """``region`` plus a margin for the quiet zone and for a detector box that clipped a corner."""
    pad = round(region.side * margin) + _CELL
    box = (
        max(0, region.left - pad),
        max(0, region.top - pad),
        min(image.width, region.right + pad),
        min(image.height, region.bottom + pad),
    )
    return image.crop(box)


def resize_by(image: Image.Image, factor: float) -> Image.Image:
    if abs(factor - 1) < 0.05:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    # Shrinking averages away noise; enlarging smoothly gives zbar's edge finder clean slopes.
    method = Image.Resampling.BOX if factor < 1 else Image.Resampling.BICUBIC
    return image.resize(size, method)


def adaptive_threshold(image: Image.Image, radius: int, *, offset: int = 4) -> Image.Image:
    """Black where a pixel is darker than its neighbourhood: undoes shadows, dim light and glare slopes."""
    local_mean = image.filter(ImageFilter.BoxBlur(radius))
    relative = ImageChops.subtract(image, local_mean, 1, 128)
    cut = 128 - offset
    return relative.point([0] * cut + [255] * (256 - cut))


def sharpen(image: Image.Image) -> Image.Image:
    """Steepen blurred module edges so zbar's edge detector finds the finder patterns' 1:1:3:1:1 runs."""
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=200, threshold=0))


def stretch_contrast(image: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(image, cutoff=1)

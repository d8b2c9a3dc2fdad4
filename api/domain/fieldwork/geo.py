"""Is a position inside an auxiliary's responsibility zone (责任区, 第七条(二))?

Zones are GeoJSON: a ``MultiPolygon`` (or a single ``Polygon``) of ``[lon, lat]`` positions, each polygon an
exterior ring followed by its holes. The test is planar ray casting, which is exact enough for zones of a few
kilometres. A point on any edge counts as inside: GPS drifts, and a patrol walking the boundary street is on
patrol.
"""

import math
from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]  # (lon, lat), the GeoJSON order
Ring = Sequence[Point]
Polygon = Sequence[Ring]  # exterior ring, then holes

# About 1 cm in degrees: closer than this to an edge is on the edge.
EDGE_TOLERANCE = 1e-7


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    (px, py), (ax, ay), (bx, by) = p, a, b
    if not (min(ax, bx) - EDGE_TOLERANCE <= px <= max(ax, bx) + EDGE_TOLERANCE):
        return False
    if not (min(ay, by) - EDGE_TOLERANCE <= py <= max(ay, by) + EDGE_TOLERANCE):
        return False
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    length = math.hypot(bx - ax, by - ay)
    if length == 0:
        return math.hypot(px - ax, py - ay) <= EDGE_TOLERANCE
    return abs(cross) / length <= EDGE_TOLERANCE


def on_ring_edge(p: Point, ring: Ring) -> bool:
    return any(_on_segment(p, ring[i - 1], ring[i]) for i in range(len(ring)))


def in_ring(p: Point, ring: Ring) -> bool:
    """Even-odd ray casting towards +x. Points exactly on an edge are left to ``on_ring_edge``.

    The half-open test ``(ay > y) != (by > y)`` counts a vertex the ray passes through once, not twice, and
    skips horizontal edges, so rays through vertices and along edges do not miscount.
    """
    x, y = p
    inside = False
    for i in range(len(ring)):
        ax, ay = ring[i - 1]
        bx, by = ring[i]
        if (ay > y) != (by > y):
            x_cross = ax + (y - ay) * (bx - ax) / (by - ay)
            if x < x_cross:
                inside = not inside
    return inside


def in_polygon(p: Point, polygon: Polygon) -> bool:
    if not polygon:
        return False
    exterior, holes = polygon[0], polygon[1:]
    if on_ring_edge(p, exterior):
        return True
    if not in_ring(p, exterior):
        return False
    # The edge of a hole is still the edge of the zone.
    return all(on_ring_edge(p, hole) or not in_ring(p, hole) for hole in holes)


def parse_zones(zones: dict[str, Any]) -> list[Polygon]:
    """The polygons of a GeoJSON MultiPolygon or Polygon. Raises ValueError on anything else."""
    kind = zones.get("type")
    coords = zones.get("coordinates")
    if kind == "Polygon":
        coords = [coords]
    elif kind != "MultiPolygon":
        raise ValueError(f"zones must be a GeoJSON MultiPolygon, not {kind!r}")
    if not isinstance(coords, list):
        raise ValueError("zones.coordinates must be a list")
    polygons: list[Polygon] = []
    for polygon in coords:
        if not isinstance(polygon, list):
            raise ValueError("each polygon must be a list of rings")
        rings: list[list[Point]] = []
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValueError("each ring needs at least four positions (closed)")
            rings.append([(float(pos[0]), float(pos[1])) for pos in ring])
        polygons.append(rings)
    return polygons


def point_in_zones(zones: dict[str, Any] | None, *, lat: float, lon: float) -> bool | None:
    """True or False for a position against the zones; None when there are no zones to test against."""
    if not zones:
        return None
    try:
        polygons = parse_zones(zones)
    except (ValueError, TypeError, IndexError):
        return None
    if not polygons:
        return None
    return any(in_polygon((lon, lat), polygon) for polygon in polygons)

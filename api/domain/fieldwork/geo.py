"""Is a position inside an auxiliary's responsibility zone (责任区, 第七条(二)), as far as the phone knows it?

A phone's fix is a circle, not a point: the position and its accuracy radius (``accuracy_m``). ``in_zone`` says
what that circle allows one to say, and no more:

    True    the whole circle lies inside the zones
    False   the whole circle lies outside them
    None    the circle crosses a zone's edge (GPS cannot tell), or there are no usable zones

A fix without an accuracy is taken as a circle of ``MARGIN_M``: a point a few metres from the edge is not
claimed for either side. Zones are GeoJSON, a ``MultiPolygon`` (or a single ``Polygon``) of ``[lon, lat]``
positions; polygons that overlap or self-intersect are repaired and merged, so the test is against the area
they cover together.

The circle is tested exactly rather than through a polygon buffered around the point (which only approximates
the circle): it lies wholly inside when its centre is inside and every edge is at least the radius away, wholly
outside when its centre is outside and every edge is that far. Distances are in metres, in a plane laid around
the point itself (see ``_around``).
"""

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely import affinity
from shapely.errors import GEOSException, ShapelyError
from shapely.geometry import LinearRing, Point, Polygon
from shapely.geometry.base import BaseGeometry

# The IUGG mean Earth radius: the sphere on which metres are measured (WGS 84 differs by < 0.5 %).
EARTH_RADIUS_M = 6_371_008.8
# The radius taken for a fix that came without an accuracy: a phone's typical outdoor fix.
MARGIN_M = 15.0
# The largest accuracy a phone may claim and still be believed to be anywhere (API: 0 < accuracy_m ≤ 10 km).
MAX_ACCURACY_M = 10_000.0

_M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


def _around(lat: float, lon: float) -> list[float]:
    """The affine map from (lon, lat) degrees to metres east and north of (lat, lon).

    Why this plane: an equirectangular projection whose standard parallel is the fix's own latitude is exact
    at the fix and in every direction from it, and its scale error grows only with the north-south distance
    (about tan(lat)·Δlat): at Nanjing's latitude below 0.1 % within 10 km, the largest accuracy accepted, so a
    distance compared with the radius is off by less than a thousandth of it. It is affine, so the zones need
    no re-projection library, and inside/outside is the same in degrees and in this plane."""
    kx = _M_PER_DEGREE * math.cos(math.radians(lat))
    ky = _M_PER_DEGREE
    return [kx, 0.0, 0.0, ky, -kx * lon, -ky * lat]


def distance_m(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Great-circle distance in metres (haversine), good from a metre to across the country."""
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    d_phi, d_lambda = phi_b - phi_a, math.radians(lon_b - lon_a)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Zones:
    """An auxiliary's zones, parsed once and prepared for many positions (a sync batch has hundreds)."""

    area: BaseGeometry  # in (lon, lat) degrees
    edges: BaseGeometry  # the area's boundary: outer rings and holes
    # One request at a time asks a parsed zone: GEOS builds a prepared geometry's indexes on first use, and
    # the parsed zones are shared between requests (``parsed_zones``).
    _asking: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def from_geojson(cls, zones: dict[str, Any] | None) -> "Zones | None":
        """The zones of a GeoJSON MultiPolygon or Polygon; None when there are none or they make no area."""
        if not zones:
            return None
        try:
            polygons = [shapely.make_valid(Polygon(rings[0], rings[1:])) for rings in _rings(zones)]
            areas = [part for polygon in polygons for part in shapely.get_parts(polygon)
                     if part.geom_type in ("Polygon", "MultiPolygon") and not part.is_empty]
            if not areas:
                return None
            area = shapely.union_all(areas)
        except (ValueError, TypeError, IndexError, ShapelyError):
            return None
        if area.is_empty:
            return None
        shapely.prepare(area)
        return cls(area=area, edges=area.boundary)

    def locate(self, *, lat: float, lon: float, accuracy_m: float | None = None) -> bool | None:
        """True, False or None for the circle of ``accuracy_m`` (``MARGIN_M`` when unknown) around the fix."""
        radius = MARGIN_M if accuracy_m is None else accuracy_m
        if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(radius)) or radius < 0:
            return None
        try:
            nearest_edge = self._nearest_edge_m(lat, lon, radius)
            if nearest_edge < radius:
                return None
            with self._asking:
                return bool(self.area.covers(Point(lon, lat)))
        except GEOSException:
            return None

    def locate_all(self, positions: Sequence[tuple[float, float]]) -> list[bool | None]:
        """``locate`` for many (lat, lon) fixes without an accuracy (a sync batch's tasks): the same answers, with
        GEOS asked once for all the distances and once for all the containments."""
        points = shapely.points([(lon, lat) for lat, lon in positions])
        try:
            with self._asking:
                distances = shapely.distance(self.edges, points)
                covered = shapely.covers(self.area, points)
        except GEOSException:
            return [self.locate(lat=lat, lon=lon) for lat, lon in positions]
        answers: list[bool | None] = []
        for (lat, lon), in_degrees, inside in zip(positions, distances.tolist(), covered.tolist(), strict=True):
            if not (math.isfinite(lat) and math.isfinite(lon)):
                answers.append(None)
                continue
            try:
                near = self._nearest_edge_m(lat, lon, MARGIN_M, in_degrees)
            except GEOSException:
                answers.append(None)
                continue
            answers.append(None if near < MARGIN_M else bool(inside))
        return answers

    def _nearest_edge_m(self, lat: float, lon: float, radius: float, in_degrees: float | None = None) -> float:
        """The distance in metres from the fix to the nearest edge, or a bound of it that decides the same
        against ``radius``. The plane of ``_around`` stretches degrees by kx east-west and ky north-south, so a
        distance of d degrees is between kx·d and ky·d metres (kx ≤ ky): a fix far from every edge, or very
        near one, is decided from the distance in degrees, and only one in between pays for moving the edges
        into metres."""
        if in_degrees is None:
            in_degrees = self.edges.distance(Point(lon, lat))
        kx, ky = _M_PER_DEGREE * math.cos(math.radians(lat)), _M_PER_DEGREE
        at_least, at_most = in_degrees * kx * (1 - 1e-9), in_degrees * ky * (1 + 1e-9)
        if at_least >= radius:
            return at_least
        if at_most < radius:
            return at_most
        return float(affinity.affine_transform(self.edges, _around(lat, lon)).distance(Point(0.0, 0.0)))


# Zones parsed, by the hash of their GeoJSON: repairing and merging polygons costs far more than the test of a
# position, and every record an auxiliary makes is tested against the same zones. Bounded: least recently used
# out first.
_PARSED: "OrderedDict[str, Zones | None]" = OrderedDict()
_PARSED_MAX = 4096
_PARSED_LOCK = threading.Lock()


def parsed_zones(zones: dict[str, Any] | None) -> Zones | None:
    """``Zones.from_geojson``, parsed once per distinct content and then shared (the result is immutable)."""
    if not zones:
        return None
    try:
        text = json.dumps(zones, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError):
        return Zones.from_geojson(zones)
    key = hashlib.sha256(text.encode()).hexdigest()
    with _PARSED_LOCK:
        if key in _PARSED:
            _PARSED.move_to_end(key)
            return _PARSED[key]
    parsed = Zones.from_geojson(zones)
    with _PARSED_LOCK:
        _PARSED[key] = parsed
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return parsed


def _rings(zones: dict[str, Any]) -> list[list[LinearRing]]:
    """Each polygon's rings (exterior first, then holes). Raises ValueError on anything but (Multi)Polygon."""
    kind = zones.get("type")
    coords = zones.get("coordinates")
    if kind == "Polygon":
        coords = [coords]
    elif kind != "MultiPolygon":
        raise ValueError(f"zones must be a GeoJSON MultiPolygon, not {kind!r}")
    if not isinstance(coords, list):
        raise ValueError("zones.coordinates must be a list")
    polygons: list[list[LinearRing]] = []
    for polygon in coords:
        if not isinstance(polygon, list) or not polygon:
            raise ValueError("each polygon must be a non-empty list of rings")
        rings: list[LinearRing] = []
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValueError("each ring needs at least four positions (closed)")
            rings.append(LinearRing([(float(pos[0]), float(pos[1])) for pos in ring]))
        polygons.append(rings)
    return polygons


def point_in_zones(
    zones: dict[str, Any] | None, *, lat: float, lon: float, accuracy_m: float | None = None
) -> bool | None:
    """``Zones.locate`` for one position against zones given as GeoJSON (parsed every call)."""
    parsed = Zones.from_geojson(zones)
    return None if parsed is None else parsed.locate(lat=lat, lon=lon, accuracy_m=accuracy_m)

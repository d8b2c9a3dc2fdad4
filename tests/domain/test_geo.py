"""``in_zone`` honest about accuracy: the fix's whole circle inside, wholly outside, or neither (null); metres
measured as metres; holes, concave edges, merged polygons; great-circle distances."""

import math
import random
from typing import Any

import pytest
from shapely import affinity
from shapely.geometry import Point

from api.domain.fieldwork.geo import MARGIN_M, Zones, _around, distance_m, parsed_zones, point_in_zones
from tests.factories import IN_ZONE, OUT_OF_ZONE, XINJIEKOU_ZONE

# The Xinjiekou square of the factories: lon 118.775 to 118.787, lat 32.035 to 32.045 (about 1.13 × 1.11 km).
WEST, EAST, SOUTH, NORTH = 118.775, 118.787, 32.035, 32.045
MID_LAT, MID_LON = 32.040, 118.781
M_PER_DEG_LAT = 6_371_008.8 * math.pi / 180


def east_of(lon: float, metres: float, lat: float = MID_LAT) -> float:
    return lon + metres / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def north_of(lat: float, metres: float) -> float:
    return lat + metres / M_PER_DEG_LAT


def square(w: float, s: float, e: float, n: float) -> list[list[float]]:
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def multi(*polygons: list[list[list[float]]]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": list(polygons)}


def test_the_factory_points_fall_where_they_say() -> None:
    assert point_in_zones(XINJIEKOU_ZONE, lat=IN_ZONE[0], lon=IN_ZONE[1], accuracy_m=10) is True
    assert point_in_zones(XINJIEKOU_ZONE, lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1], accuracy_m=10) is False


@pytest.mark.parametrize(
    ("metres_inside", "accuracy_m", "expected"),
    [
        (50, 30, True),     # the whole circle inside
        (50, 49.9, True),
        (50, 50.5, None),   # the circle reaches over the edge: GPS cannot tell
        (50, 80, None),
        (-50, 30, False),   # the whole circle outside
        (-50, 80, None),
        (0, 1, None),       # on the edge
    ],
)
def test_the_accuracy_circle_decides(metres_inside: float, accuracy_m: float, expected: bool | None) -> None:
    lon = east_of(WEST, metres_inside)
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=lon, accuracy_m=accuracy_m) is expected


def test_five_kilometres_of_accuracy_is_not_in_the_zone() -> None:
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=MID_LON, accuracy_m=5000) is None
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=MID_LON, accuracy_m=100) is True


@pytest.mark.parametrize(("metres_inside", "expected"), [(100, True), (MARGIN_M - 5, None), (-(MARGIN_M - 5), None),
                                                         (-100, False)])
def test_without_accuracy_a_small_margin_is_left_undecided(metres_inside: float, expected: bool | None) -> None:
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=east_of(WEST, metres_inside)) is expected


@pytest.mark.parametrize("accuracy_m", [35.0, 39.5])
def test_metres_are_metres_east_west_and_north_south(accuracy_m: float) -> None:
    # A degree of longitude is 85 % of a degree of latitude at 32°N: a plane that forgot it would see the
    # east-west margin as 47 m and call a 45 m circle inside.
    near_east = east_of(EAST, -40)
    near_north = north_of(NORTH, -40)
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=near_east, accuracy_m=accuracy_m) is True
    assert point_in_zones(XINJIEKOU_ZONE, lat=near_north, lon=MID_LON, accuracy_m=accuracy_m) is True
    assert point_in_zones(XINJIEKOU_ZONE, lat=MID_LAT, lon=near_east, accuracy_m=45) is None
    assert point_in_zones(XINJIEKOU_ZONE, lat=near_north, lon=MID_LON, accuracy_m=45) is None


def test_holes_are_outside_and_their_edge_is_an_edge() -> None:
    hole = square(east_of(MID_LON, -100), north_of(MID_LAT, -100), east_of(MID_LON, 100), north_of(MID_LAT, 100))
    donut = multi([square(WEST, SOUTH, EAST, NORTH), hole])
    assert point_in_zones(donut, lat=MID_LAT, lon=MID_LON, accuracy_m=50) is False
    assert point_in_zones(donut, lat=MID_LAT, lon=MID_LON, accuracy_m=150) is None
    assert point_in_zones(donut, lat=MID_LAT, lon=east_of(MID_LON, 300), accuracy_m=50) is True


def test_a_concave_notch_is_outside() -> None:
    # A U open to the north: the notch between its arms is outside.
    u_shape = [[WEST, SOUTH], [EAST, SOUTH], [EAST, NORTH], [east_of(EAST, -300), NORTH],
               [east_of(EAST, -300), north_of(SOUTH, 300)], [east_of(WEST, 300), north_of(SOUTH, 300)],
               [east_of(WEST, 300), NORTH], [WEST, NORTH], [WEST, SOUTH]]
    zones = multi([u_shape])
    assert point_in_zones(zones, lat=north_of(NORTH, -200), lon=MID_LON, accuracy_m=20) is False
    assert point_in_zones(zones, lat=north_of(SOUTH, 100), lon=MID_LON, accuracy_m=20) is True


def test_polygons_that_touch_make_one_area() -> None:
    # Two halves sharing the meridian MID_LON: a circle across the shared edge is inside the whole.
    halves = multi([square(WEST, SOUTH, MID_LON, NORTH)], [square(MID_LON, SOUTH, EAST, NORTH)])
    assert point_in_zones(halves, lat=MID_LAT, lon=MID_LON, accuracy_m=100) is True


def test_any_polygon_of_a_multipolygon_and_a_plain_polygon() -> None:
    far = square(118.90, 32.10, 118.91, 32.11)
    zones = multi([square(WEST, SOUTH, EAST, NORTH)], [far])
    assert point_in_zones(zones, lat=32.105, lon=118.905, accuracy_m=10) is True
    assert point_in_zones(zones, lat=32.07, lon=118.85, accuracy_m=10) is False
    plain = {"type": "Polygon", "coordinates": [square(WEST, SOUTH, EAST, NORTH)]}
    assert point_in_zones(plain, lat=MID_LAT, lon=MID_LON, accuracy_m=10) is True


def test_orientation_and_self_intersection_do_not_break_it() -> None:
    assert point_in_zones(multi([list(reversed(square(WEST, SOUTH, EAST, NORTH)))]), lat=MID_LAT, lon=MID_LON,
                          accuracy_m=10) is True
    bow_tie = multi([[[WEST, SOUTH], [EAST, NORTH], [EAST, SOUTH], [WEST, NORTH], [WEST, SOUTH]]])
    assert point_in_zones(bow_tie, lat=north_of(SOUTH, 50), lon=MID_LON, accuracy_m=10) is False
    assert point_in_zones(bow_tie, lat=MID_LAT, lon=east_of(WEST, 30), accuracy_m=10) is True


@pytest.mark.parametrize(
    "zones",
    [None, {}, {"type": "Point", "coordinates": [0, 0]}, {"type": "MultiPolygon", "coordinates": []},
     {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1]]]]}, {"type": "MultiPolygon", "coordinates": "x"},
     {"type": "MultiPolygon", "coordinates": [[[["a", 0], [1, 0], [1, 1], [0, 0]]]]},
     {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1], [2, 2], [0, 0]]]]}],  # no area
)
def test_no_usable_zones_answers_none(zones: dict[str, Any] | None) -> None:
    assert point_in_zones(zones, lat=0.5, lon=0.5, accuracy_m=10) is None


def test_parsed_zones_answer_many_positions() -> None:
    zones = Zones.from_geojson(XINJIEKOU_ZONE)
    assert zones is not None
    assert [zones.locate(lat=MID_LAT, lon=east_of(WEST, m), accuracy_m=20) for m in (-100, 10, 100)] == [
        False, None, True]


def test_great_circle_distances() -> None:
    assert distance_m(MID_LAT, MID_LON, MID_LAT, MID_LON) == 0
    assert distance_m(32.0, 118.78, 33.0, 118.78) == pytest.approx(111_195, rel=1e-4)  # one degree of latitude
    assert distance_m(MID_LAT, WEST, MID_LAT, EAST) == pytest.approx(1_132, abs=2)
    assert distance_m(32.04, 118.78, 39.90, 116.40) == pytest.approx(900_000, rel=0.03)  # Nanjing to Beijing


def test_zones_of_the_same_content_are_parsed_once() -> None:
    reordered = {"coordinates": XINJIEKOU_ZONE["coordinates"], "type": XINJIEKOU_ZONE["type"]}
    first = parsed_zones(XINJIEKOU_ZONE)
    assert first is not None and parsed_zones(reordered) is first
    assert first.locate(lat=IN_ZONE[0], lon=IN_ZONE[1], accuracy_m=10) is True
    moved = multi([square(WEST + 1, SOUTH, EAST + 1, NORTH)])
    assert parsed_zones(moved) is not first
    assert parsed_zones(None) is None and parsed_zones({"type": "Point", "coordinates": [1, 2]}) is None


def test_the_distance_in_degrees_decides_as_the_distance_in_metres_would() -> None:
    # Fixes scattered in and around a zone with a hole, at every distance from its edges: the shortcut through
    # the distance in degrees answers as measuring every fix in metres does.
    zone = multi([square(WEST, SOUTH, EAST, NORTH), square(118.779, 32.039, 118.783, 32.041)])
    zones = Zones.from_geojson(zone)
    assert zones is not None
    rng = random.Random(7)
    for _ in range(2000):
        lat, lon = rng.uniform(SOUTH - 0.01, NORTH + 0.01), rng.uniform(WEST - 0.01, EAST + 0.01)
        radius = rng.choice([0.0, 1.0, 15.0, 120.0, 900.0])
        nearest = affinity.affine_transform(zones.edges, _around(lat, lon)).distance(Point(0.0, 0.0))
        expected = None if nearest < radius else bool(zones.area.covers(Point(lon, lat)))
        assert zones.locate(lat=lat, lon=lon, accuracy_m=radius) is expected

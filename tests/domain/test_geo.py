"""Ray casting against GeoJSON zones, edges, vertices and holes included."""

from typing import Any

import pytest

from api.domain.fieldwork.geo import in_ring, point_in_zones
from tests.factories import IN_ZONE, OUT_OF_ZONE, XINJIEKOU_ZONE

SQUARE = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
HOLE = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]
# An arrow pointing down: a concave polygon whose notch is outside.
CONCAVE = [[0.0, 0.0], [5.0, 3.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]


def multi(*polygons: list[list[list[float]]]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": list(polygons)}


def at(zones: dict[str, Any] | None, x: float, y: float) -> bool | None:
    return point_in_zones(zones, lat=y, lon=x)


def test_the_factory_points_fall_where_they_say() -> None:
    assert point_in_zones(XINJIEKOU_ZONE, lat=IN_ZONE[0], lon=IN_ZONE[1]) is True
    assert point_in_zones(XINJIEKOU_ZONE, lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1]) is False


@pytest.mark.parametrize(
    ("x", "y", "inside"),
    [(5, 5, True), (0.001, 9.999, True), (-0.001, 5, False), (10.001, 5, False), (5, 10.5, False), (15, 5, False)],
)
def test_square(x: float, y: float, inside: bool) -> None:
    assert at(multi([SQUARE]), x, y) is inside


@pytest.mark.parametrize(("x", "y"), [(0, 5), (10, 5), (5, 0), (5, 10), (0, 0), (10, 10), (10, 0)])
def test_edges_and_vertices_count_as_inside(x: float, y: float) -> None:
    assert at(multi([SQUARE]), x, y) is True


def test_a_ray_through_a_vertex_is_counted_once() -> None:
    diamond = [[5.0, 0.0], [10.0, 5.0], [5.0, 10.0], [0.0, 5.0], [5.0, 0.0]]
    assert at(multi([diamond]), 2, 5) is True  # the ray to +x passes exactly through the vertex (10, 5)
    assert at(multi([diamond]), -1, 5) is False  # through two vertices, from outside
    assert at(multi([diamond]), 1, 1) is False


def test_a_ray_along_a_horizontal_edge() -> None:
    stepped = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [6.0, 5.0], [6.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
    assert at(multi([stepped]), 3, 5) is True  # the ray runs along the edge y=5 from x=6 to 10
    assert at(multi([stepped]), 8, 7) is False


def test_holes_are_outside_but_their_edge_is_inside() -> None:
    donut = multi([SQUARE, HOLE])
    assert at(donut, 5, 5) is False
    assert at(donut, 2, 2) is True
    assert at(donut, 4, 5) is True
    assert at(donut, 7, 5) is True


def test_concave_notch_is_outside() -> None:
    assert at(multi([CONCAVE]), 5, 1) is False
    assert at(multi([CONCAVE]), 5, 5) is True
    assert at(multi([CONCAVE]), 1, 0.2) is False
    assert at(multi([CONCAVE]), 9, 2) is True


def test_any_polygon_of_a_multipolygon() -> None:
    far = [[[20.0, 20.0], [30.0, 20.0], [30.0, 30.0], [20.0, 30.0], [20.0, 20.0]]]
    zones = multi([SQUARE], far)
    assert at(zones, 25, 25) is True and at(zones, 5, 5) is True and at(zones, 15, 15) is False


def test_a_plain_polygon_is_accepted() -> None:
    assert at({"type": "Polygon", "coordinates": [SQUARE]}, 5, 5) is True


def test_orientation_does_not_matter() -> None:
    assert at(multi([list(reversed(SQUARE))]), 5, 5) is True
    assert in_ring((5, 5), [(x, y) for x, y in reversed(SQUARE)]) is True


@pytest.mark.parametrize(
    "zones",
    [None, {}, {"type": "Point", "coordinates": [0, 0]}, {"type": "MultiPolygon", "coordinates": []},
     {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1]]]]}, {"type": "MultiPolygon", "coordinates": "x"},
     {"type": "MultiPolygon", "coordinates": [[[["a", 0], [1, 0], [1, 1], [0, 0]]]]}],
)
def test_no_usable_zones_answers_none(zones: dict[str, Any] | None) -> None:
    assert at(zones, 0.5, 0.5) is None

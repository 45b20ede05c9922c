"""Travel tables: the straight-line default, and an OSRM-style service (a local fake) asked in batches, with
each source's row cached, and failures that raise one catchable error."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.test import override_settings

from integrations.travel import OsrmMatrix
from scheduling.locations import travel_table
from scheduling.routing.matrix import UNREACHABLE_SECONDS, TravelMatrixUnavailable
from scheduling.routing.problem import Point
from tests.integrations.fake_http import FakeService, free_port, running_service

POINTS = [
    Point(54.3380, -1.4300),
    Point(54.4010, -1.4820),
    Point(54.3010, -1.3310),
    Point(54.2610, -1.4690),
    Point(54.3620, -1.5420),
    Point(54.3290, -1.4200),
    Point(54.3000, -1.5000),
]
ISLAND = Point(54.5, -1.0)


@pytest.fixture
def fake_service() -> Iterator[FakeService]:
    with running_service() as service:
        yield service


def fake_seconds(a: Point, b: Point) -> int:
    return round((abs(a.latitude - b.latitude) + abs(a.longitude - b.longitude)) * 100_000)


def osrm(path: str, query: dict[str, str]) -> tuple[int, object]:
    """Answers /table/v1/driving/... as OSRM does, from the coordinates it was sent (null to the island)."""
    coordinates = path.rsplit("/", 1)[1].split(";")
    points = [Point(float(c.split(",")[1]), float(c.split(",")[0])) for c in coordinates]
    sources = [points[int(i)] for i in query["sources"].split(";")]
    destinations = [points[int(i)] for i in query["destinations"].split(";")]

    def value(a: Point, b: Point, scale: int) -> int | None:
        return None if ISLAND in (a, b) and a != b else fake_seconds(a, b) * scale

    return 200, {
        "code": "Ok",
        "durations": [[value(a, b, 1) for b in destinations] for a in sources],
        "distances": [[value(a, b, 2) for b in destinations] for a in sources],
    }


def osrm_settings(service: FakeService, batch: int = 3) -> override_settings:
    return override_settings(
        TRAVEL_MATRIX="integrations.travel.OsrmMatrix",
        TRAVEL_MATRIX_OPTIONS={},
        TRAVEL_MATRIX_URL=service.url,
        TRAVEL_MATRIX_BATCH=batch,
    )


# --- straight line ----------------------------------------------------------------------------------------


def test_the_straight_line_table_is_symmetric_zero_on_the_diagonal_and_repeats_duplicate_points() -> None:
    points = [POINTS[0], POINTS[1], POINTS[0], POINTS[2]]
    seconds, metres = travel_table(points)

    assert len(seconds) == len(metres) == 4 and all(len(row) == 4 for row in seconds + metres)
    for i in range(4):
        assert seconds[i][i] == metres[i][i] == 0
        for j in range(4):
            assert seconds[i][j] == seconds[j][i] and metres[i][j] == metres[j][i]
    assert seconds[0][2] == metres[0][2] == 0  # the same place twice
    assert seconds[2][1] == seconds[0][1] > 0
    # Thornby to Millbeck is about 8 km as the crow flies, 1.3 times that by road at 40 km/h.
    assert 9_000 < metres[0][1] < 12_000 and 800 < seconds[0][1] < 1_100
    assert travel_table([]) == ([], [])


# --- an OSRM service --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_table_is_asked_for_in_batches_and_the_second_call_is_served_from_the_cache(
    fake_service: FakeService,
) -> None:
    fake_service.answer = osrm
    points = [*POINTS, POINTS[3]]  # seven places, one of them twice
    with osrm_settings(fake_service, batch=3):
        seconds, metres = travel_table(points)
        asked = list(fake_service.requests)
        again = travel_table(points)

    # Seven places, three a side: three chunks of sources times three of destinations.
    assert len(asked) == 9
    for path, query in asked:
        assert path.startswith("/table/v1/driving/")
        assert query["annotations"] == "duration,distance"
        assert len(query["sources"].split(";")) <= 3 and len(query["destinations"].split(";")) <= 3
    assert len(fake_service.requests) == 9, "the second call asked the service again"
    assert again == (seconds, metres)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            assert seconds[i][j] == fake_seconds(a, b)
            assert metres[i][j] == 2 * fake_seconds(a, b)


@pytest.mark.django_db
def test_only_the_rows_the_cache_lacks_are_asked_for(fake_service: FakeService) -> None:
    fake_service.answer = osrm
    with osrm_settings(fake_service, batch=100):
        travel_table(POINTS[:3])
        fake_service.requests.clear()
        seconds, _metres = travel_table(POINTS[:4])

    # The three known sources lack the new destination, so every row is asked again, in one request.
    assert len(fake_service.requests) == 1
    assert seconds[3][0] == fake_seconds(POINTS[3], POINTS[0])


def test_a_pair_no_road_joins_is_unreachable_with_a_warning(
    fake_service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    fake_service.answer = osrm
    with caplog.at_level(logging.WARNING, logger="integrations.travel"):
        seconds, metres = OsrmMatrix(url=fake_service.url).table([POINTS[0], ISLAND], [POINTS[1], ISLAND])

    assert seconds[0] == [fake_seconds(POINTS[0], POINTS[1]), UNREACHABLE_SECONDS]
    assert seconds[1][1] == 0 and metres[1][0] > 1_000_000
    assert "2 pairs have no route" in caplog.text
    _path, query = fake_service.requests[0]
    assert (query["sources"], query["destinations"]) == ("0;1", "2;1")  # the island is sent once


@pytest.mark.parametrize(
    "answer",
    [
        (500, b"<html>Internal Server Error</html>"),
        (400, {"code": "InvalidQuery", "message": "Query string malformed close to position 28"}),
        (200, b"not json"),
        (200, {"code": "Ok", "durations": [[1]]}),  # no distances
        (200, {"code": "Ok", "durations": [[1, 2]], "distances": [[1]]}),  # wrong shape
        (200, {"code": "Ok", "durations": [["soon"]], "distances": [[1]]}),
    ],
)
def test_a_failed_answer_raises_travel_matrix_unavailable(fake_service: FakeService, answer: tuple) -> None:
    fake_service.answer = lambda path, query: answer
    with pytest.raises(TravelMatrixUnavailable):
        OsrmMatrix(url=fake_service.url).table([POINTS[0]], [POINTS[1]])
    assert len(fake_service.requests) == 1


@pytest.mark.django_db
def test_a_service_that_does_not_answer_raises_travel_matrix_unavailable_from_travel_table() -> None:
    with (
        override_settings(
            TRAVEL_MATRIX="integrations.travel.OsrmMatrix",
            TRAVEL_MATRIX_OPTIONS={},
            TRAVEL_MATRIX_URL=f"http://127.0.0.1:{free_port()}",
        ),
        pytest.raises(TravelMatrixUnavailable, match="did not answer"),
    ):
        travel_table(POINTS[:2])

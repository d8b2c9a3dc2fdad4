"""bench/verify/run.py reads the service's own /metrics: the event loop's late ticks beside each run's figures."""

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from api.event_loop import BUCKETS
from bench.verify.run import loop_ticks


def _metrics(*lags: float) -> str:
    registry = CollectorRegistry()
    lag = Histogram("auxduty_event_loop_lag_seconds", "lag", buckets=BUCKETS, registry=registry)
    for value in lags:
        lag.observe(value)
    return generate_latest(registry).decode()


def test_ticks_more_than_ten_milliseconds_late_are_counted_late() -> None:
    assert loop_ticks(_metrics(0.0004, 0.009, 0.01, 0.011, 0.3)) == (5.0, 2.0)


def test_a_run_is_the_difference_of_two_readings() -> None:
    before, after = loop_ticks(_metrics(0.02)), loop_ticks(_metrics(0.02, 0.001, 0.05, 0.002))
    assert (after[0] - before[0], after[1] - before[1]) == (3.0, 1.0)


def test_a_service_that_does_not_measure_its_loop_gives_no_ticks() -> None:
    assert loop_ticks('auxduty_badge_answers_total{outcome="stored"} 3.0\n') == (0.0, 0.0)

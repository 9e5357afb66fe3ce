import time

import pytest

from scconcepts.distributed import cell_chunks, map_chunks
from scconcepts.distributed._chunks import SlicedParts, in_flight_window

LIVE = ("waiting", "queued", "no-worker", "processing", "memory")


def _live_parts(dask_scheduler, prefix):
    """Parts of the map the scheduler holds (waiting, running or with a result kept on a worker)."""
    return sum(1 for key, task in dask_scheduler.tasks.items() if str(key).startswith(prefix) and task.state in LIVE)


def _count_live_parts(part, pause):
    """Sleep a little (so that parts overlap), then ask the scheduler how many parts of this map it holds."""
    from distributed import get_client

    time.sleep(pause)
    return part, get_client().run_on_scheduler(_live_parts, prefix="_count_live_parts")


def test_the_window_is_twice_the_workers_threads(cluster_client):
    assert in_flight_window(cluster_client) == 4


def test_at_most_a_window_of_parts_is_on_the_cluster_at_once(cluster_client):
    # The old map submitted all 24 parts at once and kept every result on the workers until the end: a task
    # saw about 24 live parts. Bounded, no task ever sees more than the window (twice the 2 workers' threads).
    parts = list(range(24))
    results = map_chunks(_count_live_parts, parts, 0.05, client=cluster_client)
    assert [part for part, _ in results] == parts
    most = max(live for _, live in results)
    assert 1 <= most <= in_flight_window(cluster_client) == 4
    results = map_chunks(_count_live_parts, parts, 0.05, client=cluster_client, window=2)
    assert [part for part, _ in results] == parts
    assert max(live for _, live in results) <= 2


def test_a_window_of_one_still_returns_every_part_in_order(cluster_client):
    assert map_chunks(abs, [-3, 2, -1, 0, -7], client=cluster_client, window=1) == [3, 2, 1, 0, 7]
    with pytest.raises(ValueError, match="window"):
        map_chunks(abs, [1], client=cluster_client, window=0)


def test_sliced_parts_are_made_only_when_asked_for(cluster_client):
    made = []

    def part(rows):
        made.append(rows)
        return list(range(rows.start, rows.stop))

    parts = SlicedParts(part, cell_chunks(10, 3))
    assert len(parts) == 4 and made == []
    assert parts[3] == [9] and len(made) == 1
    assert map_chunks(sum, parts) == map_chunks(sum, parts, client=cluster_client, window=2) == [3, 12, 21, 9]

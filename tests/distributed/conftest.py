import pytest


@pytest.fixture(scope="session")
def cluster_client():
    """Two worker processes, one thread each: the setting the tests compare with one process."""
    from scconcepts.distributed import dask_client

    with dask_client(workers=2) as client:
        yield client

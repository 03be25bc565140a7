import pytest


@pytest.fixture(autouse=True)
def _single_thread_blas(monkeypatch):
    """Keep BLAS to one thread: the test machine is shared."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1):
        yield

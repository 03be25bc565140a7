import pytest

from _model_helpers import touching_nuclei


@pytest.fixture
def one_thread():
    """Train and predict with one torch thread (the test machine is shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def trained():
    """A small U-Net trained for a fixed number of steps on touching nuclei.

    Returns ``(model, seconds)``; shared by the training, prediction and
    model-file tests, so the cost is paid once.
    """
    import time

    import torch

    from napari_segkit.models import train_model

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pairs = [touching_nuclei(seed=s) for s in (0, 1)]
        start = time.perf_counter()
        model = train_model(
            [p[0] for p in pairs], [p[1] for p in pairs],
            options={"depth": 2, "width": 8}, epochs=8, steps_per_epoch=8, patch_shape=96,
            learning_rate=3e-3, validation_fraction=0.0, rng=0,
        )
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
    return model, seconds

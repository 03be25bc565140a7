import pytest

from napari_segkit.samples import nuclei_2d


@pytest.fixture(scope="session")
def nuclei():
    return nuclei_2d((128, 128), n_nuclei=8, rng=3)

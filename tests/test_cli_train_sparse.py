"""``napari-segkit train`` on time series (2-D frames) and on a saved annotation set."""

from __future__ import annotations

import json

import numpy as np

from napari_segkit.annotation import AnnotationSet
from napari_segkit.cli import main
from napari_segkit.samples import nuclei_time_series

TINY = ["--option", "depth=1", "--option", "width=4", "--epochs", "1", "-q"]


def test_time_series_trains_2d_on_labelled_frames(tmp_path):
    sample = nuclei_time_series(n_frames=3, shape=(48, 48), n_nuclei=4, rng=2)
    labels = np.zeros_like(sample.labels)
    labels[1] = sample.labels[1]  # only frame 1 was labelled
    np.save(tmp_path / "movie.npy", sample.image)
    np.save(tmp_path / "labels.npy", labels)
    model = tmp_path / "model"
    assert main(["train", "--image", str(tmp_path / "movie.npy"), "--labels", str(tmp_path / "labels.npy"),
                 "--spatial-dims", "2", "-o", str(model), *TINY]) == 0
    config = json.loads((model / "config.json").read_text())
    assert config["spatial_dims"] == 2 and config["training"]["n_images"] == 1


def test_annotation_folder_trains_on_the_annotated_part(tmp_path):
    sample = nuclei_time_series(n_frames=2, shape=(48, 48), n_nuclei=4, rng=3)
    aset = AnnotationSet()
    aset.add_image("movie", sample.image.shape, axes="tyx")
    first = int(np.unique(sample.labels[0])[1])
    aset.accept("movie", sample.labels[0] == first, frame=(0,), background=([0, 0], [24, 24]))
    aset.save(tmp_path / "ann")
    np.save(tmp_path / "movie.npy", sample.image)
    model = tmp_path / "model"
    assert main(["train", "--image", str(tmp_path / "movie.npy"), "--annotations", str(tmp_path / "ann"),
                 "-o", str(model), *TINY]) == 0
    config = json.loads((model / "config.json").read_text())
    assert config["spatial_dims"] == 2 and config["training"]["ignore_label"] == -1
    assert config["training"]["annotations"]["objects"] == 1
    assert config["training"]["annotations"]["images"] == {"movie": list(sample.image.shape)}
    # two images for a one-image set is refused with what to do
    assert main(["train", "--image", str(tmp_path / "movie.npy"), "--image", str(tmp_path / "movie.npy"),
                 "--annotations", str(tmp_path / "ann"), "-o", str(tmp_path / "m2"), *TINY]) == 2

"""The annotation set: acceptance rules, edits, undo, record and exact replay."""

import json

import numpy as np
import pytest

import napari_segkit
from napari_segkit import InputError
from napari_segkit.annotation import AnnotationSet, replay, sparse_labels, training_inputs


def _disk(shape, centre, radius):
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def test_accept_gives_fresh_ids_and_never_overwrites_unless_asked():
    aset = AnnotationSet({"img": (64, 64)})
    a = _disk((64, 64), (20, 20), 8)
    b = _disk((64, 64), (20, 30), 8)  # overlaps a
    assert aset.accept("img", a) == [1]
    assert aset.accept("img", b) == [2]
    labels = aset.labels["img"]
    assert (labels[a] == 1).all()  # a kept all its pixels
    assert ((labels == 2) == (b & ~a)).all()
    assert aset.accept("img", b, overwrite=True) == [3]
    assert ((aset.labels["img"] == 3) == b).all()
    assert aset.object_ids("img") == [1, 2, 3] or aset.object_ids("img") == [1, 3]


def test_accept_instance_labels_object_by_object_and_background_marks():
    aset = AnnotationSet({"img": (32, 32)})
    proposal = np.zeros((32, 32), np.int32)
    proposal[2:8, 2:8] = 5
    proposal[20:30, 20:30] = 9
    aset.mark_background("img", [(25, 25)])
    assert aset.background["img"][24:27, 24:27].all()
    ids = aset.accept("img", proposal, ids=[9], source="network", model={"sha": "abc"})
    assert ids == [1]
    assert (aset.labels["img"][20:30, 20:30] == 1).all()
    assert not aset.labels["img"][2:8, 2:8].any()
    assert not aset.background["img"][24:27, 24:27].any()  # the object wins over background marks
    with pytest.raises(InputError, match=r"ids \[7\]"):
        aset.accept("img", proposal, ids=[7])
    with pytest.raises(InputError, match="shape"):
        aset.accept("img", np.ones((10, 10), bool))
    with pytest.raises(InputError, match="not in the annotation set"):
        aset.accept("other", proposal)


def test_box_background_and_done_region_define_the_training_region():
    aset = AnnotationSet({"img": (40, 40)})
    mask = _disk((40, 40), (10, 10), 4)
    aset.accept("img", mask, background=([4, 4], [17, 17]), prompt={"kind": "box", "coords": [[4, 4], [17, 17]]})
    aset.mark_done("img", ([20, 20], [30, 30]))
    lab = sparse_labels(aset, "img")
    assert (lab[mask] == 1).all()
    ring = np.zeros((40, 40), bool)
    ring[4:17, 4:17] = True
    assert (lab[ring & ~mask] == 0).all()
    assert (lab[20:30, 20:30] == 0).all()
    assert lab[35, 35] == -1 and lab[0, 39] == -1
    assert set(np.unique(lab)) == {-1, 0, 1}


def test_delete_merge_split_and_undo_restore_exact_states():
    aset = AnnotationSet({"img": (40, 60)})
    two = _disk((40, 60), (20, 20), 9) | _disk((40, 60), (20, 36), 9)  # touching pair
    (oid,) = aset.accept("img", two)
    before = aset.labels["img"].copy()
    pieces = aset.split("img", oid, seeds=[(20, 18), (20, 38)])
    assert pieces == [1, 2]
    labels = aset.labels["img"]
    assert set(np.unique(labels)) == {0, 1, 2}
    assert (labels[20, 12:25] == 1).all() and (labels[20, 32:44] == 2).all()
    assert abs(int((labels == 1).sum()) - int((labels == 2).sum())) < 20
    assert aset.merge("img", [2, 1]) == 2
    assert set(np.unique(aset.labels["img"])) == {0, 2}
    aset.undo()
    aset.undo()
    assert np.array_equal(aset.labels["img"], before)
    aset.delete("img", 1, as_background=True)
    assert not aset.labels["img"].any() and aset.background["img"][two].all()
    aset.undo()
    assert np.array_equal(aset.labels["img"], before)
    assert aset.next_id == 3  # ids are never reused, even after undo
    with pytest.raises(InputError, match="not accepted objects"):
        aset.delete("img", 7)


def test_split_by_line_cuts_along_the_line():
    aset = AnnotationSet({"img": (30, 30)})
    rect = np.zeros((30, 30), bool)
    rect[5:25, 5:25] = True
    aset.accept("img", rect)
    ids = aset.split("img", 1, line=[(15, 0), (15, 29)])
    assert ids == [1, 2]
    labels = aset.labels["img"]
    assert (labels[5:14, 5:25] > 0).all() and len(np.unique(labels[5:14, 5:25])) == 1
    assert len(np.unique(labels[17:25, 5:25])) == 1
    assert labels[6, 6] != labels[24, 24]
    assert ((labels > 0) == rect).all()  # the line's pixels go to a piece
    with pytest.raises(InputError, match="does not cut"):
        aset.split("img", 1, line=[(0, 0), (0, 29)])


def test_time_series_frames_and_training_inputs_2d():
    aset = AnnotationSet()
    aset.add_image("movie", (3, 32, 32), axes="tyx")
    aset.accept("movie", _disk((32, 32), (10, 10), 5), frame=(1,), background=([2, 2], [20, 20]))
    assert (aset.labels["movie"][1][_disk((32, 32), (10, 10), 5)] == 1).all()
    assert not aset.labels["movie"][0].any()
    image = np.random.default_rng(0).random((3, 32, 32, 2))
    data = training_inputs(aset, image, channel_axis=-1)
    assert data.spatial_dims == 2 and len(data) == 1  # only the annotated frame
    assert data.images[0].shape[-1] == 2 and data.labels[0].shape == data.images[0].shape[:2]
    assert data.ignore_label == -1 and (data.labels[0] == -1).any()
    # without axes a 3-axis image is a question, not a guess
    other = AnnotationSet({"stack": (3, 32, 32)})
    other.accept("stack", _disk((32, 32), (10, 10), 5), frame=(0,))
    with pytest.raises(InputError, match="time .* or depth"):
        training_inputs(other, image[..., 0])
    assert training_inputs(other, image[..., 0], spatial_dims=2).spatial_dims == 2


def test_record_replays_identically_and_detects_tampering(tmp_path):
    rng = np.random.default_rng(1)
    aset = AnnotationSet()
    aset.add_image("a", (48, 48))
    aset.add_image("b", (2, 40, 40), axes="tyx")
    for k in range(6):
        c = rng.integers(8, 40, size=2)
        aset.accept("a", _disk((48, 48), c, 5), prompt={"kind": "click", "coords": c.tolist()}, source="clicks")
    aset.accept("b", _disk((40, 40), (20, 20), 10), frame=(1,))
    aset.split("b", aset.object_ids("b")[0], seeds=[(1, 20, 12), (1, 20, 28)])
    aset.merge("a", aset.object_ids("a")[:2])
    aset.mark_background("a", [(1, 1), (46, 46)])
    aset.mark_done("b", ([0, 0, 0], [1, 40, 40]))
    aset.delete("a", aset.object_ids("a")[-1])
    aset.undo()
    aset.note_training({"architecture": "unet"}, path="model")
    folder = aset.save(tmp_path / "ann")
    assert (folder / "annotations.json").is_file() and (folder / "a_labels.npy").is_file()
    with pytest.raises(InputError, match="already exists"):
        aset.save(tmp_path / "ann")
    again = napari_segkit.replay(folder)
    for key in ("a", "b"):
        assert np.array_equal(again.labels[key], aset.labels[key])
        assert np.array_equal(again.background[key], aset.background[key])
        assert np.array_equal(again.done[key], aset.done[key])
    assert np.array_equal(np.load(folder / "a_labels.npy"), aset.labels["a"])
    assert again.next_id == aset.next_id and again.effort().interactions == aset.effort().interactions
    record = json.loads((folder / "annotations.json").read_text())
    record["events"][3]["objects"][0]["id"] = 99
    with pytest.raises(InputError, match="differ from the record"):
        replay(record)
    assert "napari_segkit.replay" in aset.to_python(str(folder))


def test_effort_counts_objects_interactions_and_capped_seconds():
    aset = AnnotationSet({"img": (32, 32)})
    aset.accept("img", _disk((32, 32), (8, 8), 4), interactions=3)
    aset.accept("img", _disk((32, 32), (20, 20), 4))
    aset.events[-1]["time"] = aset.events[-2]["time"] + 1000.0  # a long pause counts 2 minutes
    effort = aset.effort()
    assert effort.objects == 2 and effort.interactions == 4
    assert effort.seconds == pytest.approx(120.0)
    assert effort.interactions_per_object == 2.0 and "2 objects" in str(effort)


def test_training_inputs_train_a_network_on_the_annotated_part_only():
    from napari_segkit.samples import nuclei_2d

    sample = nuclei_2d((96, 96), n_nuclei=8, rng=0)
    image, truth = sample.image, sample.labels
    aset = AnnotationSet({"img": truth.shape})
    for oid in np.unique(truth[:, :48])[1:4]:
        aset.accept("img", truth == oid, source="reference")
    aset.mark_done("img", ([0, 0], [96, 40]))
    data = training_inputs(aset, image)
    assert (data.labels[0] == -1).any() and data.labels[0].shape[1] < 96
    model = napari_segkit.train_model(data.images, data.labels, ignore_label=data.ignore_label, epochs=1,
                                      steps_per_epoch=2, batch_size=1, patch_shape=32,
                                      options={"depth": 2, "width": 4}, validation_fraction=0, rng=0)
    assert model.config["training"]["ignore_label"] == -1

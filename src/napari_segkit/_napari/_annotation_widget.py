"""The "Annotate" dock widget: one growing set of accepted objects per image.

The widget keeps an :class:`~napari_segkit.annotation.AnnotationSet` for the
chosen image and shows it as the Labels layer ``"<image> annotations"``.  Any
Labels layer (a GrabCut, graph-cut or clicks result, a network's proposals)
is the *source*: "Accept all" takes every object of it, "Accept selected"
the object whose id is selected in the source layer (napari's label picker),
"Reject selected" marks that object's pixels as background.  Delete, merge,
split (from the clicks of a Points layer), background from points, "mark
done" (from the rectangles of a Shapes layer) and undo act on the set.  Each
action is recorded (kind, coordinates, time), so "Save" writes a folder that
:func:`napari_segkit.replay` rebuilds headless, and "Copy as Python" puts
that code on the clipboard.  The effort line counts accepted objects,
interactions and seconds per object.

The set travels with its layer (``layer.metadata["napari_segkit_annotations"]``),
so the Train widget can train on exactly what was annotated.  Every action
takes milliseconds on ordinary images and runs on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, PushButton
from napari.utils.notifications import show_error, show_info

from .._errors import InputError
from ..annotation import AnnotationSet, replay
from ._layers import CHANNEL_CHOICES, image_input, layer_choices

__all__ = ["ANNOTATIONS_KEY", "AnnotationWidget", "annotation_set_of", "layer_axes"]

#: key of the AnnotationSet in the annotation layer's metadata
ANNOTATIONS_KEY = "napari_segkit_annotations"
_TIME_NAMES = {"t", "time", "frame", "frames", "timepoint"}
_DEPTH_NAMES = {"z", "depth", "plane", "slice", "zplane"}


def annotation_set_of(layer: Any) -> Optional[AnnotationSet]:
    """The AnnotationSet a Labels layer shows, or None."""
    metadata = getattr(layer, "metadata", None) or {}
    found = metadata.get(ANNOTATIONS_KEY)
    return found if isinstance(found, AnnotationSet) else None


def layer_axes(layer: Any, n_spatial_axes: int) -> Optional[str]:
    """Axis letters ('tyx', 'zyx', 'tzyx', 'yx') from a layer's axis labels; None when they do not say.

    ``n_spatial_axes`` is the number of non-channel axes.  Labels such as
    ``t``/``time`` or ``z``/``depth`` decide; napari's default labels
    (``0``, ``1``, ...) say nothing.
    """
    if n_spatial_axes == 2:
        return "yx"
    names = [str(a).strip().lower() for a in getattr(layer, "axis_labels", ())]
    names = names[-n_spatial_axes:] if len(names) >= n_spatial_axes else []
    if not names:
        return None
    lead = names[: n_spatial_axes - 2]
    letters = []
    for name in lead:
        if name in _TIME_NAMES:
            letters.append("t")
        elif name in _DEPTH_NAMES:
            letters.append("z")
        else:
            return None
    axes = "".join(letters) + "yx"
    return axes if len(set(axes)) == len(axes) else None


class AnnotationWidget(Container):
    """Accept, correct and record the objects of a dataset; see the module docstring."""

    def __init__(self, napari_viewer) -> None:
        super().__init__(labels=True)
        self._viewer = napari_viewer
        self.annotations: Optional[AnnotationSet] = None
        self.key = "image"
        self.layer = None
        self._image = ComboBox(label="Image", choices=lambda _w=None: layer_choices(napari_viewer, "image"))
        self._channel_axis = ComboBox(label="Channel axis", choices=list(CHANNEL_CHOICES), value="none",
                                      tooltip="For multichannel (non-RGB) images: the axis that holds channels")
        self._source = ComboBox(label="Source", nullable=True,
                                choices=lambda _w=None: self._labels_choices(),
                                tooltip="A Labels layer whose objects to accept (a cut's result, proposals)")
        self._points = ComboBox(label="Points", nullable=True,
                                choices=lambda _w=None: layer_choices(napari_viewer, "points"),
                                tooltip="Clicks for split (two or more in one object) and background marks")
        self._shapes = ComboBox(label="Shapes", nullable=True,
                                choices=lambda _w=None: layer_choices(napari_viewer, "shapes"),
                                tooltip="Rectangles for 'Mark done': everything inside is labelled")
        self._overwrite = CheckBox(text="Overwrite accepted objects",
                                   tooltip="Let accepted results take pixels of objects accepted before")
        self._ids = LineEdit(label="Object ids", tooltip="e.g. '3, 7' for Merge; empty = the selected label")
        self._folder = FileEdit(label="Folder", mode="d", tooltip="Where Save writes / Open reads the set")
        self._effort = Label(label="Effort", value="-")
        self._status = Label(value="Choose an image, then New set (or Open).")
        buttons = {
            "new": ("New set", self.new_set), "open": ("Open", self.open_set),
            "accept_all": ("Accept all", self.accept_all), "accept": ("Accept selected", self.accept_selected),
            "reject": ("Reject selected", self.reject_selected), "delete": ("Delete", self.delete_selected),
            "merge": ("Merge", self.merge), "split": ("Split (points)", self.split),
            "correct": ("Correct selected (points)", self.correct_selected),
            "background": ("Background (points)", self.background_from_points),
            "done": ("Mark done (shapes)", self.mark_done), "undo": ("Undo", self.undo),
            "save": ("Save", self.save), "python": ("Copy as Python", self.copy_python),
        }
        self._buttons = {}
        for key, (text, action) in buttons.items():
            button = PushButton(text=text)
            button.changed.connect(self._guarded(action))
            self._buttons[key] = button

        def row(*keys):
            return Container(widgets=[self._buttons[k] for k in keys], layout="horizontal", labels=False)

        self.extend([
            self._image, self._channel_axis, row("new", "open"), self._source, self._overwrite,
            row("accept_all", "accept", "reject"), self._ids, row("delete", "merge", "undo"),
            self._points, row("split", "background"), row("correct"), self._shapes, row("done"),
            self._folder, row("save", "python"), self._effort, self._status,
        ])
        for name in ("inserted", "removed", "reordered"):
            getattr(napari_viewer.layers.events, name).connect(self._refresh_choices)

    # ------------------------------------------------------------ plumbing
    def _labels_choices(self):
        return [(n, layer) for n, layer in layer_choices(self._viewer, "labels") if layer is not self.layer]

    def _refresh_choices(self, _event=None) -> None:
        try:
            self.reset_choices()
        except RuntimeError:  # widget deleted
            pass

    def _guarded(self, action):
        def run(_value=None):
            try:
                action()
            except InputError as exc:
                show_error(str(exc))
                self._say(f"error: {exc}")

        return run

    def _say(self, text: str) -> None:
        try:
            self._status.value = text
            if self.annotations is not None:
                self._effort.value = str(self.annotations.effort())
        except RuntimeError:
            pass

    def _need(self) -> AnnotationSet:
        if self.annotations is None:
            raise InputError("start an annotation set first: choose the image and click 'New set' (or 'Open')")
        return self.annotations

    def _show(self) -> None:
        """Point the annotation layer at the set's labels (the same array) and redraw."""
        labels = self.annotations.labels[self.key]
        if self.layer is None or self.layer not in self._viewer.layers:
            image = self._image.value
            kwargs = {}
            if image is not None and image.name == self.key:
                described = image_input(image, channel_axis=CHANNEL_CHOICES[self._channel_axis.value])
                if described.ndim == labels.ndim:
                    kwargs = {"scale": described.scale, "translate": described.translate}
            self.layer = self._viewer.add_labels(labels, name=f"{self.key} annotations", **kwargs)
            self.layer.metadata[ANNOTATIONS_KEY] = self.annotations
        else:
            if self.layer.data is not labels:
                self.layer.data = labels
            self.layer.refresh()
        self._say(self._status.value)

    # ------------------------------------------------------------- actions
    def new_set(self) -> AnnotationSet:
        """A new, empty set for the chosen image (its non-channel shape; axes from its axis labels)."""
        layer = self._image.value
        if layer is None:
            raise InputError("choose an Image layer to annotate")
        image = image_input(layer, channel_axis=CHANNEL_CHOICES[self._channel_axis.value])
        shape = tuple(image.shape)
        self.annotations = AnnotationSet()
        self.key = layer.name
        self.annotations.add_image(self.key, shape, axes=layer_axes(layer, len(shape)))
        self.layer = None
        self._show()
        self._say(f"new annotation set for {self.key!r} {shape}")
        return self.annotations

    def open_set(self) -> AnnotationSet:
        """Replay the set saved in the folder (labels rebuilt from the record)."""
        folder = Path(str(self._folder.value or "")).expanduser()
        aset = replay(folder)
        self.annotations = aset
        self.key = aset.images[0]
        self.layer = None
        self._show()
        self._say(f"opened {str(folder)!r}: {aset.n_objects} objects")
        return aset

    def _source_layer(self):
        layer = self._source.value
        if layer is None:
            raise InputError("choose the Source Labels layer (a method's result or proposals)")
        return layer

    def _source_data(self, layer) -> np.ndarray:
        data = np.asarray(layer.data)
        shape = self.annotations.labels[self.key].shape
        if data.shape != shape:
            raise InputError(f"layer {layer.name!r} has shape {data.shape}; the annotations have shape {shape}")
        return data

    def _params(self, layer) -> dict:
        meta = {k: v for k, v in (getattr(layer, "metadata", {}) or {}).items()
                if isinstance(v, (str, int, float, bool, list, dict)) and k != ANNOTATIONS_KEY}
        return {"layer": layer.name, **({"metadata": meta} if meta else {})}

    def _model_of(self, layer) -> Optional[dict]:
        model = (getattr(layer, "metadata", {}) or {}).get("napari_segkit_model")
        return model if isinstance(model, dict) else None

    def accept_all(self) -> List[int]:
        aset = self._need()
        layer = self._source_layer()
        data = self._source_data(layer)
        ids = aset.accept(self.key, data, overwrite=bool(self._overwrite.value),
                          prompt={"kind": "accept_layer"}, source=layer.name, params=self._params(layer),
                          model=self._model_of(layer))
        self._show()
        self._say(f"accepted {len(ids)} objects from {layer.name!r}")
        return ids

    def _selected(self, layer) -> int:
        value = int(getattr(layer, "selected_label", 0))
        data = np.asarray(layer.data)
        if value <= 0 or not (data == value).any():
            raise InputError(f"select an object of {layer.name!r} first (label picker, or type its id)")
        return value

    def accept_selected(self) -> List[int]:
        aset = self._need()
        layer = self._source_layer()
        data = self._source_data(layer)
        value = self._selected(layer)
        ids = aset.accept(self.key, data, ids=[value], overwrite=bool(self._overwrite.value),
                          prompt={"kind": "accept_object", "coords": [value]}, source=layer.name,
                          params=self._params(layer), model=self._model_of(layer))
        self._show()
        self._say(f"accepted object {value} of {layer.name!r} as {ids}" if ids else
                  f"object {value} lies under accepted objects; tick Overwrite to take its pixels")
        return ids

    def reject_selected(self) -> int:
        aset = self._need()
        layer = self._source_layer()
        data = self._source_data(layer)
        value = self._selected(layer)
        count = aset.mark_background(self.key, data == value, prompt={"kind": "reject", "coords": [value]},
                                     source=layer.name)
        self._show()
        self._say(f"rejected object {value}: {count} pixels marked background")
        return count

    def _typed_ids(self) -> List[int]:
        text = str(self._ids.value or "").replace(";", ",").strip()
        if not text:
            if self.layer is None:
                return []
            return [int(self.layer.selected_label)]
        try:
            return [int(t) for t in text.replace(",", " ").split()]
        except ValueError:
            raise InputError(f"Object ids must be integers separated by commas, got {text!r}") from None

    def delete_selected(self) -> None:
        aset = self._need()
        ids = self._typed_ids()
        aset.delete(self.key, ids)
        self._show()
        self._say(f"deleted {ids}")

    def merge(self) -> int:
        aset = self._need()
        ids = self._typed_ids()
        kept = aset.merge(self.key, ids)
        self._show()
        self._say(f"merged {ids} into {kept}")
        return kept

    def _points_data(self) -> np.ndarray:
        layer = self._points.value
        if layer is None or len(layer.data) == 0:
            raise InputError("choose a Points layer with clicks first")
        ndim = self.annotations.labels[self.key].ndim
        # world -> data coordinates of the annotation grid
        return np.round(np.asarray([layer.world_to_data(layer.data_to_world(p)) for p in layer.data])
                        [:, -ndim:]).astype(int)

    def split(self) -> List[int]:
        aset = self._need()
        points = self._points_data()
        labels = aset.labels[self.key]
        inside = [int(labels[tuple(p)]) for p in points if all(0 <= c < s for c, s in zip(p, labels.shape))]
        inside = [i for i in inside if i]
        if not inside:
            raise InputError("no click lies on an accepted object; click two or more points inside the object")
        object_id = max(set(inside), key=inside.count)
        seeds = [p.tolist() for p in points if labels[tuple(p)] == object_id]
        ids = aset.split(self.key, object_id, seeds=seeds)
        self._show()
        self._say(f"split object {object_id} into {ids}")
        return ids

    def correct_selected(self) -> List[int]:
        """Correct the Source's selected object (a proposal) by the Points layer's clicks, then accept it.

        A click's sign is the Points layer's ``positive`` feature when it has
        one; otherwise a click outside the object adds (positive) and a click
        on it removes (negative).  Every click counts as an interaction.
        """
        from ..annotation import ProposalCorrection
        from ..annotation.training import _spatial_dims

        aset = self._need()
        layer = self._source_layer()
        data = self._source_data(layer)
        value = self._selected(layer)
        points = self._points_data()
        n_lead, _ = _spatial_dims(aset, self.key, None)
        frames = {tuple(p[:n_lead]) for p in points}
        if len(frames) != 1:
            raise InputError(f"the clicks lie on {len(frames)} frames; put all of them on the object's frame")
        frame = frames.pop()
        image_layer = self._image.value
        if image_layer is None:
            raise InputError("choose the Image layer the proposals were made on")
        described = image_input(image_layer, channel_axis=CHANNEL_CHOICES[self._channel_axis.value])
        image = np.asarray(described.levels[0])
        if described.channel_axis is not None:
            image = np.moveaxis(image, described.channel_axis, -1)[..., :3 if described.drop_alpha else None]
        if image.shape[: data.ndim] != data.shape:
            raise InputError(f"image {image_layer.name!r} has shape {image.shape}; {layer.name!r} has {data.shape}")
        channels = None if described.channel_axis is None else -1
        fix = ProposalCorrection(image[frame], data[frame], channel_axis=channels, rng=0)
        if not fix.mask(value).any():
            raise InputError(f"object {value} of {layer.name!r} is not on frame {frame}")
        features = getattr(self._points.value, "features", None)
        signs = None
        if features is not None and "positive" in getattr(features, "columns", ()):
            signs = np.asarray(features["positive"]).astype(bool)
        for k, point in enumerate(points):
            coords = tuple(int(c) for c in point[n_lead:])
            positive = bool(signs[k]) if signs is not None else not fix.mask(value)[coords]
            fix.click(value, coords, positive=positive)
        ids = fix.accept(aset, self.key, value, frame=frame if n_lead else None, source=layer.name,
                         model=self._model_of(layer))
        self._show()
        self._say(f"object {value} of {layer.name!r} corrected by {len(points)} clicks, accepted as {ids}")
        return ids

    def background_from_points(self) -> int:
        aset = self._need()
        points = self._points_data()
        count = aset.mark_background(self.key, points.tolist(), interactions=len(points),
                                     prompt={"kind": "clicks", "coords": points.tolist()})
        self._show()
        self._say(f"{count} pixels marked background from {len(points)} clicks")
        return count

    def mark_done(self) -> int:
        aset = self._need()
        layer = self._shapes.value
        if layer is None or not len(layer.data):
            raise InputError("choose a Shapes layer with a rectangle around the finished region")
        shape = aset.labels[self.key].shape
        n = 0
        for vertices in layer.data:
            v = np.asarray(vertices)[:, -len(shape):]
            lo, hi = np.floor(v.min(axis=0)).astype(int), np.ceil(v.max(axis=0)).astype(int) + 1
            if len(shape) > 2:  # a rectangle drawn on one frame/plane covers that frame
                lo[:-2] = np.round(v[0, :-2]).astype(int)
                hi[:-2] = lo[:-2] + 1
            aset.mark_done(self.key, (lo.tolist(), hi.tolist()))
            n += 1
        self._show()
        self._say(f"{n} region(s) marked done")
        return n

    def undo(self) -> bool:
        aset = self._need()
        undone = aset.undo()
        self._show()
        self._say("undone" if undone else "nothing to undo")
        return undone

    def save(self) -> Path:
        aset = self._need()
        text = str(self._folder.value or "").strip()
        if not text or text == ".":
            raise InputError("choose a Folder to save the annotation set to")
        folder = aset.save(Path(text).expanduser(), overwrite=True)
        self._say(f"saved to {str(folder)!r}")
        return folder

    def copy_python(self) -> str:
        aset = self._need()
        text = aset.to_python(str(self._folder.value or "") or None)
        try:
            from qtpy.QtWidgets import QApplication

            QApplication.clipboard().setText(text)
            show_info("Python code copied to the clipboard")
        except Exception:  # noqa: BLE001 - no clipboard (headless); the text is still returned
            pass
        self._say("Python code copied")
        return text

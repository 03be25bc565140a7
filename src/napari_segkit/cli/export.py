"""``napari-segkit export`` (labels to Fiji ROIs, QuPath GeoJSON, COCO) and
``napari-segkit measure`` (a per-object CSV table)."""

from __future__ import annotations

import argparse
import logging

from ._common import EXIT_OK, add_quiet_argument, add_verb, positive_float

logger = logging.getLogger("napari_segkit.cli")


def register(verbs) -> None:
    export = add_verb(verbs, "export", "write LABELS as a Fiji ROI set (.zip), QuPath GeoJSON (.geojson) or "
                      "COCO (.json)", _run_export, image=False)
    export.add_argument("labels", metavar="LABELS", help="label image (.tif, .tiff, .zarr, .npy)")
    export.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="OUT.zip (Fiji ROIs), OUT.geojson (QuPath) or OUT.json (COCO)")
    export.add_argument("--format", choices=("imagej", "geojson", "coco"), default=None)
    export.add_argument("--axes", default=None, metavar="AXES",
                        help="letters of LABELS' axes from T, Z, Y, X (default: from the file)")
    export.add_argument("--classification", default="Cell", metavar="NAME",
                        help="GeoJSON: class of every object (default Cell)")
    export.add_argument("--object-type", choices=("detection", "annotation"), default="detection",
                        help="GeoJSON: QuPath object type (default detection)")
    export.add_argument("--category", default="cell", metavar="NAME",
                        help="COCO: category name (default cell)")
    export.add_argument("--segmentation", choices=("rle", "polygon"), default="rle",
                        help="COCO: exact run-length masks (default) or polygons")
    export.add_argument("--image-name", default=None, metavar="FILE",
                        help="COCO: file name of the image the labels belong to")
    _add_objects_argument(export)
    export.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_quiet_argument(export)

    measure = add_verb(verbs, "measure", "write a CSV table of every object in LABELS: area, centroid, bounding "
                       "box, mean intensity", _run_measure, image=False)
    measure.add_argument("labels", metavar="LABELS", help="label image (.tif, .tiff, .zarr, .npy)")
    measure.add_argument("--image", default=None, metavar="IMAGE",
                         help="intensity image for mean_intensity (one column per channel)")
    measure.add_argument("-o", "--output", required=True, metavar="OUT.csv")
    measure.add_argument("--channel-axis", type=int, default=None, metavar="N",
                         help="axis of IMAGE holding channels (default: from the file's axes)")
    measure.add_argument("--spacing", nargs="+", type=positive_float, default=None, metavar="D",
                         help="pixel size of the spatial axes (default: from LABELS' metadata)")
    measure.add_argument("--spatial-dims", type=int, choices=(2, 3), default=None,
                         help="trailing spatial axes; 2 measures a stack frame by frame")
    _add_objects_argument(measure)
    measure.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_quiet_argument(measure)


def _add_objects_argument(parser) -> None:
    parser.add_argument(
        "--objects", type=int, default=None, metavar="V",
        help="the objects are the connected pieces of value V (e.g. 1 for the cells of a graph cut "
             "with seeds 1 = cells, 2 = background); default: every non-zero value is one object",
    )


def _objects(args, array, spatial_dims):
    """LABELS as given, or the connected pieces of value ``--objects``, frame by frame."""
    import numpy as np
    from skimage.measure import label

    from .._errors import InputError

    if args.objects is None:
        return array
    array = np.asarray(array)
    mask = array == args.objects
    if not mask.any():
        values = np.unique(array)[:10].tolist()
        raise InputError(f"--objects {args.objects}: LABELS has no pixel of that value (values: {values})")
    lead = array.shape[: array.ndim - spatial_dims]
    out = np.zeros(array.shape, dtype=np.int32)
    for index in np.ndindex(*lead):
        out[index] = label(mask[index])
    return out


def _file_axes(image) -> "str | None":
    axes = (image.axes or "").upper()
    if len(axes) == image.array.ndim and set(axes) <= set("TZYX") and axes.endswith("YX"):
        return axes
    return None


def _run_export(args: argparse.Namespace) -> int:
    """Every object becomes a polygon along its pixel edges (pixel coordinates, origin at the top-left corner); stacks
    are exported plane by plane.  The format follows OUT's ending unless --format is given.
    """
    from ..io import read_image
    from ..io.export import export_labels

    labels = read_image(args.labels, name="LABELS")
    fmt = args.format
    options = {"axes": args.axes or _file_axes(labels), "overwrite": args.overwrite}
    chosen = fmt
    if chosen is None:
        from pathlib import Path

        from ..io.export import EXPORT_FORMATS

        suffix = Path(args.output).suffix.lower()
        chosen = next((name for name, endings in EXPORT_FORMATS.items() if suffix in endings), None)
    if chosen == "geojson":
        options.update(classification=args.classification, object_type=args.object_type)
    elif chosen == "coco":
        options.update(category=args.category, segmentation=args.segmentation,
                       file_name=args.image_name)
    array = _objects(args, labels.array, 2)  # export formats are plane by plane
    out = export_labels(args.output, array, format=fmt, **options)
    logger.info("wrote %s", out)
    return EXIT_OK


def _run_measure(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..io import read_image
    from ..measure import measure_objects, write_measurements
    from ._common import channel_axis_from

    labels = read_image(args.labels, name="LABELS")
    image = channel_axis = None
    if args.image is not None:
        read = read_image(args.image, name="IMAGE")
        image = read.array
        channel_axis = channel_axis_from(args, read.axes, image.ndim)
    elif args.channel_axis is not None:
        raise InputError("--channel-axis needs --image")
    spacing = args.spacing
    n_spatial = args.spatial_dims or (2 if labels.array.ndim == 2 else 3)
    if spacing is None and labels.spacing is not None and len(labels.spacing) >= n_spatial:
        spacing = labels.spacing[-n_spatial:]
    table = measure_objects(_objects(args, labels.array, n_spatial), image, channel_axis=channel_axis, spacing=spacing,
                            spatial_dims=args.spatial_dims)
    out = write_measurements(args.output, table, overwrite=args.overwrite)
    logger.info("measured %d objects into %s", len(table.get("label", ())), out)
    return EXIT_OK

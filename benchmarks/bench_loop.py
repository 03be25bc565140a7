"""The annotation loop, simulated: boxes on part of an image, train, predict the rest, correct, retrain.

Run:  nice -n 10 python benchmarks/bench_loop.py [--cases kc167,macrophage,nuclei,rods,touching]
      [--budget 240] [--finetune-budget 120] [--threads 2] [--cpu-budget] [--box-clicks 5]
      [--box-background on|off|ring] [--target boundary|distance] [--json out.json]

The simulated user of ``/work/shared/measuring.md`` ("The loop, simulated"):

(a) On the left half of an image, boxes (bounding box + 3 px) around 20
    reference objects chosen at random (seeded), cut jointly by GrabCut and
    accepted into an :class:`~napari_segkit.annotation.AnnotationSet` (one
    interaction each; with ``--box-background on`` the rest of each box is
    marked background), plus 40 background clicks (3 x 3 marks at random
    reference-background pixels of that half, one interaction each).  Nothing
    else is labelled: :func:`~napari_segkit.annotation.training_inputs` leaves
    every other pixel out of the loss.  ``train_model`` (default U-Net) runs
    for ``--budget`` seconds; the right half is predicted and scored (instance
    F1 at IoU 0.5 against the reference objects whose centre lies in the
    right half).  Beside it, the same network trained for the same time on
    the full reference labels of the left half.
(b) Two correction rounds: the user sees the accepted objects over the
    proposals (:func:`~napari_segkit.annotation.dataset_labels`); the click
    robot corrects the worst of them (the right half's reference objects with
    the lowest best IoU) starting from the proposal
    (:class:`~napari_segkit.annotation.ProposalCorrection`), <= 10 clicks a
    round, accepts what reaches ``--accept-iou``, and spends clicks left over
    accepting good proposals as they are; the model is fine-tuned on the grown
    set for ``--finetune-budget`` seconds (``train_model(init_model=)``), and
    the right half is scored again: the network alone, and the dataset's
    labels.  ``--correction boxes`` is the earlier simulation (the worst
    objects boxed again with GrabCut).
(c) Touching rod-shaped cells (``samples.rods_2d``, synthetic) and touching
    nuclei (``touching``, synthetic, made here) from box labels, as (a);
    ``--target`` chooses the network's instance target (boundary band or
    distance classes).

Also per case: the Monte Carlo dropout uncertainty of the (a) model: the
area under the ROC curve of per-object mutual information for telling
proposals that match no reference object (IoU <= 0.5) from those that do.

Real data comes from ``../shared/devdata`` (or ``$SEGKIT_DEVDATA``):
``kc167_cells_2d`` (BBBC007 / Cellpose-dataset whole-cell masks, 2 channels),
``neuron_cells_2d``; cases whose files are missing are skipped.  The machine
is shared: the script records ``os.getloadavg()`` before and after each
training; under contention a fixed wall-clock budget buys fewer epochs, so
``--cpu-budget`` counts CPU seconds per thread instead (stopping through
Cancel, which keeps the best model so far).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parents[1]
N_BOXES = 20
N_CLICKS = 40
ROUND_INTERACTIONS = 10
#: U-Net options (--depth/--width); empty = train_model's defaults
OPTIONS: dict = {}


def devdata() -> Path:
    return Path(os.environ.get("SEGKIT_DEVDATA", REPO.parent / "shared" / "devdata"))


def load_case(name: str):
    """``(image, reference, channel_axis, real)``."""
    from napari_segkit.samples import nuclei_2d, rods_2d

    if name in ("kc167", "neuron", "macrophage"):
        import tifffile

        stem = {"kc167": "kc167_cells_2d", "neuron": "neuron_cells_2d", "macrophage": "macrophage_cells_2d"}[name]
        folder = devdata()
        if not (folder / f"{stem}_image.tif").is_file():
            return None
        image = tifffile.imread(folder / f"{stem}_image.tif")
        labels = tifffile.imread(folder / f"{stem}_labels.tif").astype(np.int32)
        return image, labels, 0, True
    if name == "nuclei":
        s = nuclei_2d((512, 512), n_nuclei=110, rng=7)
        return s.image, s.labels, None, False
    if name == "touching":
        return (*touching_nuclei(), None, False)
    if name == "rods":
        s = rods_2d((384, 384), n_rods=200, rng=3)
        return s.image, s.labels, None, False
    raise SystemExit(f"unknown case {name!r}")


def touching_nuclei(shape=(384, 384), n=90, seed=11):
    """SYNTHETIC touching nuclei: ellipses placed with overlap allowed, each pixel of an overlap
    going to the nearer centre (so touching nuclei share a straight contact, no dark gap between
    them), brightness per nucleus 0.55-1, blur and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape, dtype=np.float32)
    best = np.full(shape, np.inf, np.float32)
    labels = np.zeros(shape, np.int32)
    placed = 0
    while placed < n:
        ry, rx = rng.uniform(8, 13) * rng.uniform(0.8, 1.2, 2)
        cy, cx = rng.uniform(ry + 1, shape[0] - ry - 2), rng.uniform(rx + 1, shape[1] - rx - 2)
        dist = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        inside = dist <= 1.0
        if (labels[inside] > 0).mean() > 0.3:  # touching and slightly overlapping, not hidden
            continue
        placed += 1
        take = inside & (dist < best)
        labels[take], best[take] = placed, dist[take]
    ids, counts = np.unique(labels, return_counts=True)
    for i, c in zip(ids, counts):  # a nucleus split by its neighbours keeps its largest piece
        if i:
            parts, k = ndi.label(labels == i)
            if k > 1:
                sizes = np.bincount(parts.ravel())[1:]
                labels[(parts > 0) & (parts != sizes.argmax() + 1)] = 0
    brightness = np.concatenate([[0.0], rng.uniform(0.55, 1.0, placed)])
    image = ndi.gaussian_filter(brightness[labels] * 1000 + 100, 1.2)
    image = rng.poisson(np.clip(image, 0, None)).astype(np.float32) + rng.normal(0, 20, shape)
    return np.clip(image, 0, 4095).astype(np.uint16), labels


def centres(labels):
    ids = np.unique(labels)
    ids = ids[ids > 0]
    return ids, np.array(ndi.center_of_mass(np.ones_like(labels), labels, ids)).reshape(-1, 2)


def box_of(mask, shape, margin=3):
    box = ndi.find_objects(mask.astype(np.int8))[0]
    lo = [max(0, s.start - margin) for s in box]
    hi = [min(n, s.stop + margin) for s, n in zip(box, shape)]
    return lo, hi


def grabcut_boxes(image, boxes, channel_axis):
    from napari_segkit import grabcut

    return np.asarray(grabcut(image, np.array(boxes), channel_axis=channel_axis, rng=0))


def box_background_mask(mode, box, cut_mask, shape, ring=2):
    """What the user marks as background with a box: nothing ("off"), the rest of the box ("on"),
    or the rest of the box farther than ``ring`` pixels from the cut ("ring": the unsure ring
    around the cut is left unlabelled)."""
    if mode == "off":
        return None
    lo, hi = box
    bg = np.zeros(shape, bool)
    bg[tuple(slice(a, b) for a, b in zip(lo, hi))] = True
    if mode == "ring":
        bg &= ~ndi.binary_dilation(cut_mask, iterations=ring)
    return bg


def robot_fix(fix, object_id, reference_mask, budget, stop_at):
    """The click robot corrects ``object_id`` of a ProposalCorrection until IoU >= ``stop_at`` or
    ``budget`` clicks, then steps back (undo) to the best state it saw: the clicks still count.
    Returns (clicks used, IoU before, IoU after)."""
    from napari_segkit.evaluation import ClickRobot, iou

    robot = ClickRobot(reference_mask)
    before = best = now = iou(fix.mask(object_id), reference_mask)
    used = since_best = 0
    while used < budget and now < stop_at:
        step = robot.next_click(fix.mask(object_id))
        if step is None:
            break
        coords, positive = step
        if fix.labels[coords] not in (0, object_id):  # the click lands on another object: it stays
            break
        used += 1
        fix.click(object_id, coords, positive=positive)
        now = iou(fix.mask(object_id), reference_mask)
        since_best += 1
        if now >= best:
            best, since_best = now, 0
    for _ in range(since_best):
        fix.undo()
    return used, before, best


def accept_boxes(aset, image, reference, ids, channel_axis, box_background, stage, cut_method="grabcut",
                 box_clicks=0, stop_at=0.85):
    """Box each reference object in ``ids``, cut the boxes jointly, accept; returns the IoUs of the cuts.

    ``cut_method="reference"`` accepts the reference mask itself (a user who corrected each cut
    to the exact outline), to tell the network's part of the loop from the cut's.  ``box_clicks``:
    the click robot corrects each cut with up to that many clicks (stopping at IoU ``stop_at``),
    each an interaction.
    """
    from napari_segkit.annotation import ProposalCorrection
    from napari_segkit.evaluation import iou

    shape = reference.shape
    boxes = [box_of(reference == i, shape) for i in ids]
    if cut_method == "reference":
        cut = np.zeros(shape, np.int32)
        for k, oid in enumerate(ids, start=1):
            cut[reference == oid] = k
    else:
        cut = grabcut_boxes(image, [[lo, hi] for lo, hi in boxes], channel_axis)
    fix = ProposalCorrection(image, cut, channel_axis=channel_axis, rng=0) if box_clicks else None
    ious, fixed = [], []
    for k, (oid, (lo, hi)) in enumerate(zip(ids, boxes), start=1):
        clicks = 0
        if fix is not None and (cut == k).any():
            clicks, _, _ = robot_fix(fix, k, reference == oid, box_clicks, stop_at)
            mask = fix.mask(k)
        else:
            mask = cut == k
        ious.append(iou(cut == k, reference == oid))
        fixed.append(iou(mask, reference == oid))
        aset.accept("image", mask, background=box_background_mask(box_background, (lo, hi), mask, shape),
                    prompt={"kind": "box", "coords": [lo, hi], "stage": stage,
                            "clicks": [list(map(int, c)) for c, _ in fix.clicks(k)] if fix else []},
                    source=cut_method + ("+clicks" if clicks else ""), params={"margin": 3}, interactions=1 + clicks)
    return ious, fixed


def correction_round(aset, image, reference, proposals, region, channel_axis, budget, stop_at=0.9,
                     per_object=5, accept_leftover=True, accept_iou=0.5):
    """One correction round by the click robot, starting from what the user sees (accepted objects
    over the proposals): the worst reference objects of the scored half, in order, are fixed by
    clicks on their proposal (or a new object when none covers them) until IoU >= ``stop_at`` or
    ``per_object`` clicks, and accepted when they reach IoU ``accept_iou``; every click is an interaction, and
    the round stops at ``budget``.  Interactions left over accept the best proposals as they are
    (one each)."""
    from napari_segkit.annotation import ProposalCorrection, dataset_labels
    from napari_segkit.evaluation import ClickRobot, iou

    seen = dataset_labels(aset.labels["image"], proposals)
    accepted = aset.labels["image"] > 0
    done = np.isin(reference, np.unique(reference[accepted]))
    worst, scores = worst_objects(seen, np.where(done, 0, reference), region, 10**6)
    fix = ProposalCorrection(image, seen, channel_axis=channel_axis, rng=0)
    left, log = budget, []
    for oid, score in zip(worst, scores):
        if left <= 0 or score >= stop_at:
            break
        obj = reference == oid
        hit, counts = np.unique(fix.labels[obj], return_counts=True)
        best, best_iou = 0, 0.0
        for h in hit[hit > 0]:
            value = iou(fix.labels == h, obj)
            if value > best_iou and not accepted[fix.labels == h].any():
                best, best_iou = int(h), value
        used = 0
        if best_iou < 0.3:
            point = ClickRobot(obj).first_click()
            under = int(fix.labels[point])
            if under and not accepted[point]:
                best = under
            elif under == 0:
                best = fix.new_object(point)
                used = 1
            else:
                continue
        clicks, before, after = robot_fix(fix, best, obj, min(per_object - used, left - used), stop_at)
        used += clicks
        left -= used
        if after >= accept_iou and used:
            fix.accept(aset, "image", best, source="network proposal")
            log.append({"object": oid, "clicks": used, "iou_before": round(score, 2), "iou_after": round(after, 2)})
        else:
            log.append({"object": oid, "clicks": used, "iou_before": round(score, 2), "iou_after": round(after, 2),
                        "accepted": False})
    good = []
    if accept_leftover and left > 0:
        for h in np.unique(fix.labels[region & ~accepted]):
            if h == 0:
                continue
            mask = fix.labels == h
            if (mask & accepted).any():
                continue
            ref_hit = np.bincount(reference[mask]).argmax()
            if ref_hit and iou(mask, reference == ref_hit) >= stop_at:
                good.append((iou(mask, reference == ref_hit), int(h)))
    as_is = sorted(good, reverse=True)[:left]
    for _, h in as_is:
        fix.accept(aset, "image", h, source="network proposal")
        left -= 1
    return {"clicks_log": log, "accepted_as_is": len(as_is), "interactions": budget - left}


def scoring_region(reference, right):
    ids, c = centres(reference)
    keep = ids[right(c[:, 1])]
    region = np.isin(reference, keep) | ((reference == 0) & right(np.arange(reference.shape[1]))[None, :])
    return region


def f1(pred, reference, region):
    from napari_segkit.evaluation import match_instances

    m = match_instances(pred, np.where(region, reference, 0), 0.5, region=region)
    return float(m.f1)


def worst_objects(pred, reference, region, n):
    """Reference objects in the region with the lowest best IoU against the proposals."""
    ref = np.where(region, reference, 0)
    ids = np.unique(ref)
    ids = ids[ids > 0]
    scores = []
    for oid in ids:
        obj = ref == oid
        hit, counts = np.unique(pred[obj], return_counts=True)
        best = 0.0
        for h, inter in zip(hit, counts):
            if h == 0:
                continue
            union = obj.sum() + (pred == h).sum() - inter
            best = max(best, inter / union)
        scores.append(best)
    order = np.argsort(scores, kind="stable")
    return [int(ids[i]) for i in order[:n]], [float(scores[i]) for i in order[:n]]


def uncertainty_auc(image, model, channel_axis, pred_reference, region):
    """AUC of per-object mutual information for finding proposals that match no reference object."""
    from napari_segkit.annotation import rank_objects
    from napari_segkit.evaluation import match_instances
    from napari_segkit.models.uncertainty import mc_dropout

    start = time.perf_counter()
    unc = mc_dropout(image, model, samples=8, rate=0.1, channel_axis=channel_axis, rng=0)
    seconds = time.perf_counter() - start
    labels = unc.labels()
    labels = np.where(region, labels, 0)
    m = match_instances(labels, np.where(region, pred_reference, 0), 0.5, region=region)
    matched = {int(pair[0]) for pair in m.pairs}
    ranked = rank_objects(labels, unc.mutual_information)
    bad = np.array([r.id not in matched for r in ranked])
    score = np.array([r.score for r in ranked])
    if bad.all() or not bad.any():
        return {"auc": None, "seconds": round(seconds, 1), "objects": len(ranked)}
    # Mann-Whitney U: probability that a bad object outranks a good one
    from scipy.stats import rankdata

    ranks = rankdata(score)
    n_bad, n_good = bad.sum(), (~bad).sum()
    auc = (ranks[bad].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good)
    return {"auc": round(float(auc), 3), "seconds": round(seconds, 1), "objects": len(ranked),
            "unmatched": int(n_bad)}


def train(data, budget, init=None, seed=0, cpu_budget=False, target=None, until_budget=True, learning_rate=None):
    """Train (fine-tune from ``init``) for ``budget`` seconds; ``cpu_budget``: seconds are CPU
    seconds of this process divided by its torch threads (what the training would take alone on
    that many cores); ``until_budget``: the whole budget is used (no early stop on a validation
    plateau), as the protocol's fixed compute."""
    import torch

    from napari_segkit import train_model

    kwargs = dict(ignore_label=data.ignore_label, channel_axis=data.channel_axis, time_budget=budget, rng=seed)
    if OPTIONS and init is None:
        kwargs["options"] = dict(OPTIONS)
    if target is not None and init is None:
        kwargs["target"] = target
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    if cpu_budget:  # the process's CPU seconds, all threads: the budget per thread times the threads
        kwargs.update(budget_clock="cpu", time_budget=budget * torch.get_num_threads())
    if until_budget:
        kwargs["epochs"] = 10**6  # an epoch cap turns the validation-plateau stop off
    fine = init is not None and "init_model" in inspect.signature(train_model).parameters
    if fine:
        kwargs["init_model"] = init
    load = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    model = train_model(data.images, data.labels, **kwargs)
    info = {"seconds": round(time.perf_counter() - start, 1), "epochs": len(model.history),
            "cpu_seconds": round(time.process_time() - cpu_start, 1),
            "stopped_by": model.config.get("training", {}).get("stopped_by"),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "fine_tuned": bool(fine)}
    return model, info


def run_case(name, args):
    from napari_segkit import predict_labels
    from napari_segkit.annotation import AnnotationSet, training_inputs

    case = load_case(name)
    if case is None:
        print(f"{name}: data not found, skipped", flush=True)
        return None
    image, reference, channel_axis, real = case
    shape = reference.shape
    half = shape[1] // 2
    rng = np.random.default_rng(args.seed)
    ids, c = centres(reference)
    boxes = [ndi.find_objects((reference == i).astype(np.int8))[0] for i in ids]
    left_ids = [int(i) for i, b in zip(ids, boxes) if b[1].stop + 3 <= half]
    chosen = sorted(rng.choice(left_ids, size=min(N_BOXES, len(left_ids)), replace=False).tolist())
    region = scoring_region(reference, lambda x: x >= half)
    out = {"case": name, "real": real, "cut": args.cut, "shape": list(shape), "objects": int(len(ids)),
           "right_half_objects": int(len(np.unique(reference[region & (reference > 0)])))}

    aset = AnnotationSet()
    aset.add_image("image", shape, axes="yx")
    t0 = time.perf_counter()
    ious, fixed = accept_boxes(aset, image, reference, chosen, channel_axis, args.box_background, "a", args.cut,
                               box_clicks=args.box_clicks)
    out["grabcut_box_iou_mean"] = round(float(np.mean(ious)), 3)
    out["accepted_iou_mean"] = round(float(np.mean(fixed)), 3)
    bg = np.argwhere((ndi.binary_dilation(reference > 0, iterations=3) == 0)[:, :half])
    clicks = bg[rng.choice(len(bg), size=N_CLICKS, replace=False)]
    for point in clicks:
        aset.mark_background("image", [point.tolist()], prompt={"kind": "click", "coords": point.tolist()})
    out["annotation_seconds"] = round(time.perf_counter() - t0, 1)
    data = training_inputs(aset, image, channel_axis=channel_axis)
    model, info = train(data, args.budget, cpu_budget=args.cpu_budget, target=args.target,
                        until_budget=args.until_budget)
    pred = np.asarray(predict_labels(image, model, channel_axis=channel_axis))
    out["a"] = {"f1": round(f1(pred, reference, region), 3), "train": info,
                "grabcut_box_iou_mean": out["grabcut_box_iou_mean"], "accepted_iou_mean": out["accepted_iou_mean"],
                "objects_accepted": aset.n_objects, "interactions": aset.effort().interactions}
    print(name, "a", out["a"], flush=True)
    if args.full_baseline and name != "rods" or args.full_baseline_all:
        full = reference.copy()
        full[:, half:] = -1
        from napari_segkit.annotation import TrainingInputs

        ci = None if channel_axis is None else -1
        img = image if channel_axis is None else np.moveaxis(image, channel_axis, -1)
        full_data = TrainingInputs([img[:, : half + 32]], [full[:, : half + 32]], -1, ci, 2)
        base, binfo = train(full_data, args.budget, cpu_budget=args.cpu_budget, target=args.target,
                            until_budget=args.until_budget)
        bpred = np.asarray(predict_labels(image, base, channel_axis=channel_axis))
        out["full_labels"] = {"f1": round(f1(bpred, reference, region), 3), "train": binfo}
        print(name, "full", out["full_labels"], flush=True)
    if args.uncertainty and (not args.uncertainty_cases or name in args.uncertainty_cases.split(",")):
        out["uncertainty"] = uncertainty_auc(image, model, channel_axis, reference, region)
        print(name, "uncertainty", out["uncertainty"], flush=True)
    rounds = []
    from napari_segkit.annotation import dataset_labels

    wasted = 0
    for r in range(args.rounds):
        stats_before = aset.effort()
        if args.correction == "boxes":  # the earlier simulation: the worst objects boxed again
            combined = dataset_labels(aset.labels["image"], pred)
            done = np.isin(reference, np.unique(reference[aset.labels["image"] > 0]))
            worst, scores = worst_objects(combined, np.where(done, 0, reference), region, ROUND_INTERACTIONS)
            accept_boxes(aset, image, reference, worst, channel_axis, args.box_background, f"round {r + 1}",
                         args.cut)
            correction = {"worst_best_iou": [round(v, 2) for v in scores]}
        else:
            correction = correction_round(aset, image, reference, pred, region, channel_axis, ROUND_INTERACTIONS,
                                          accept_leftover=args.accept_leftover, accept_iou=args.accept_iou)
        data = training_inputs(aset, image, channel_axis=channel_axis)
        model, info = train(data, args.finetune_budget, init=model, seed=r + 1, cpu_budget=args.cpu_budget,
                            until_budget=args.until_budget, learning_rate=args.finetune_lr)
        pred = np.asarray(predict_labels(image, model, channel_axis=channel_axis))
        combined = dataset_labels(aset.labels["image"], pred)
        effort = aset.effort()
        # clicks on objects the robot did not accept are spent too, though no event records them
        wasted += sum(c["clicks"] for c in correction.get("clicks_log", []) if c.get("accepted") is False)
        rounds.append({"round": r + 1, "correction": correction,
                       "round_interactions": effort.interactions - stats_before.interactions,
                       "interactions_spent": effort.interactions + wasted,
                       "spent_per_object": round((effort.interactions + wasted) / max(effort.objects, 1), 2),
                       "round_objects": effort.objects - stats_before.objects,
                       "f1_network": round(f1(pred, reference, region), 3),
                       "f1_dataset": round(f1(combined, reference, region), 3), "train": info,
                       "objects_accepted": effort.objects, "interactions": effort.interactions,
                       "interactions_per_object": round(effort.interactions_per_object, 2)})
        print(name, "round", rounds[-1], flush=True)
    out["b"] = rounds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="kc167,nuclei,rods")
    parser.add_argument("--budget", type=float, default=240.0)
    parser.add_argument("--finetune-budget", type=float, default=120.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--box-background", choices=("on", "off", "ring"), default="on",
                        help="background from each box: the rest of the box (on), nothing (off), or the rest of "
                        "the box beyond a 2-px unsure ring around the cut (ring)")
    parser.add_argument("--box-clicks", type=int, default=0,
                        help="the click robot corrects each box cut with up to this many clicks (IoU 0.85)")
    parser.add_argument("--correction", choices=("clicks", "boxes"), default="clicks",
                        help="correction rounds: the click robot fixes the worst proposals (clicks), or the "
                        "worst objects are boxed again (boxes, the earlier simulation)")
    parser.add_argument("--accept-iou", type=float, default=0.5,
                        help="the robot accepts a corrected object when its IoU reaches this (a match at 0.5)")
    parser.add_argument("--finetune-lr", type=float, default=None,
                        help="learning rate of the fine-tuning rounds (default: train_model's)")
    parser.add_argument("--no-accept-leftover", dest="accept_leftover", action="store_false",
                        help="do not spend a round's leftover interactions accepting good proposals")
    parser.add_argument("--no-full-baseline", dest="full_baseline", action="store_false")
    parser.add_argument("--full-baseline-all", action="store_true")
    parser.add_argument("--no-uncertainty", dest="uncertainty", action="store_false")
    parser.add_argument("--uncertainty-cases", default="", help="only these cases (default: all)")
    parser.add_argument("--cut", choices=("grabcut", "reference"), default="grabcut",
                        help="how a box becomes an object: GrabCut, or the reference mask (an exact outline)")
    parser.add_argument("--cpu-budget", action="store_true",
                        help="budgets count this process's CPU seconds per torch thread (the time the training "
                        "would take alone on --threads cores), for a loaded, shared machine: the training's clock "
                        "(budget and learning-rate schedule) runs on CPU time")
    parser.add_argument("--target", choices=("boundary", "distance"), default=None,
                        help="instance target of the network (default: train_model's)")
    parser.add_argument("--early-stop", dest="until_budget", action="store_false",
                        help="let training stop early on a validation plateau (default: use the whole budget)")
    parser.add_argument("--depth", type=int, default=None, help="U-Net depth (default: train_model's)")
    parser.add_argument("--width", type=int, default=None, help="U-Net width (default: train_model's)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    OPTIONS.update({k: v for k, v in (("depth", args.depth), ("width", args.width)) if v is not None})
    results = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads,
                           "load_start": os.getloadavg()}, "args": vars(args), "cases": []}
    for name in args.cases.split(","):
        result = run_case(name.strip(), args)
        if result is not None:
            results["cases"].append(result)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
    results["machine"]["load_end"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

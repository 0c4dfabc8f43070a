"""``topoanalysis train``: train a (topographic) spiking ResNet with the STC loss.

Multi-GPU / multi-node: launch under torchrun, e.g.
``torchrun --nproc_per_node 8 -m topoanalysis.cli.main train ...``.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields

from ..errors import InputError
from ..models import list_models
from ..training.optimizers import OPTIMIZERS
from ..training.trainer import DATASETS, TrainConfig, TrainingInterrupted, train
from .common import add_arch_kwarg_arg, parse_device

DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
"""The command's defaults: :class:`~topoanalysis.training.trainer.TrainConfig`'s."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model of any family (--arch) with task + STC loss")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, train_log.jsonl)")
    parser.add_argument("--dataset", choices=DATASETS, default=DEFAULTS["dataset"])
    parser.add_argument("--data", default=DEFAULTS["data_path"],
                        help="cifar10: the JPEG zip (default ../shared/data/cifar10-jpeg.zip); cifar100: the "
                             "cifar-100-python folder; imagefolder: ROOT with train/ and val/")
    parser.add_argument("--arch", choices=list_models(), default=DEFAULTS["arch"])
    parser.add_argument("--stem", choices=("cifar", "imagenet"), default=DEFAULTS["stem"])
    parser.add_argument("--width", type=float, default=DEFAULTS["width"],
                        help="channel multiplier (default: the architecture's: 1 for spiking_resnet18)")
    parser.add_argument("--timesteps", type=int, default=DEFAULTS["timesteps"],
                        help="T (default: the architecture's: 4 for spiking_resnet18, 10 for spiking_cornet_rt)")
    add_arch_kwarg_arg(parser)
    parser.add_argument("--image-size", type=int, default=DEFAULTS["image_size_px"],
                        help="imagefolder input size (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                        help="per process (default: %(default)s)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=DEFAULTS["optimizer"],
                        help="adamw (paper: base LR 5e-4, cosine) or sgd (Nesterov, LR 0.1)")
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS["weight_decay"])
    parser.add_argument("--warmup-steps", type=int, default=DEFAULTS["warmup_steps"])
    parser.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="weight of L_L (default: %(default)s)")
    parser.add_argument("--beta", type=float, default=DEFAULTS["beta"], help="weight of L_S (default: %(default)s)")
    parser.add_argument("--clusters", type=int, default=DEFAULTS["clusters_per_layer"],
                        help="clusters M per layer (default: %(default)s)")
    parser.add_argument("--ccg-window", default=DEFAULTS["ccg_window"],
                        help="CCG lag window W: half_minus_one (T/2-1), half (T/2) or an integer")
    parser.add_argument("--positions", default=DEFAULTS["positions"],
                        help="sheets .npz from `topoanalysis swap-positions`")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--device", type=parse_device, default=DEFAULTS["device"],
                        help="cpu, cuda, cuda:1 ... (default: CUDA "
                        "if available)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default=DEFAULTS["precision"],
                        help="default: bf16 autocast on CUDA, fp32 on CPU")
    parser.add_argument("--limit-per-class", type=int, default=DEFAULTS["limit_per_class"],
                        help="use only N images per class")
    parser.add_argument("--max-steps", type=int, default=DEFAULTS["max_steps"])
    parser.add_argument("--workers", type=int, default=DEFAULTS["workers"], help="loader processes for imagefolder")
    parser.add_argument("--resume", default=DEFAULTS["resume"], help="checkpoint_last.pt to continue from")
    parser.add_argument("--log-every", type=int, default=DEFAULTS["log_every"],
                        help="log every N steps (default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=int, default=DEFAULTS["checkpoint_every"], metavar="N",
                        help="also save checkpoint_last.pt every N steps (default: at each epoch's end only)")
    parser.add_argument("--note", action="append", default=[], metavar="KEY=TEXT",
                        help="add KEY: TEXT to the model card (repeatable), e.g. where the positions came from")
    parser.set_defaults(run=run)


def run(args) -> int:
    window = int(args.ccg_window) if args.ccg_window.isdigit() else args.ccg_window
    bad = [note for note in args.note if "=" not in note or not note.split("=", 1)[0].strip()]
    if bad:
        raise InputError(f"--note needs KEY=TEXT, got {bad[0]!r}")
    notes = dict(note.split("=", 1) for note in args.note)
    config = TrainConfig(
        out_dir=args.out, dataset=args.dataset, data_path=args.data, arch=args.arch, stem=args.stem,
        width=args.width, timesteps=args.timesteps, arch_kwargs=dict(args.arch_kwarg), image_size_px=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, alpha=args.alpha, beta=args.beta, clusters_per_layer=args.clusters,
        ccg_window=window, positions=args.positions, seed=args.seed, device=args.device,
        precision=args.precision, limit_per_class=args.limit_per_class, max_steps=args.max_steps,
        workers=args.workers, resume=args.resume, log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        notes={key.strip(): text.strip() for key, text in notes.items()})
    try:
        train(config)
    except TrainingInterrupted as stopped:
        print(f"topoanalysis train: {stopped}", file=sys.stderr)
        return 130
    return 0

"""The bundled trainer: task loss + STC loss, BPTT through the surrogate gradient.

One process, or several under ``torchrun`` (DDP; gloo on CPUs, NCCL on GPUs). Every
epoch writes ``checkpoint_last.pt`` (project format plus optimizer/RNG state, so
``--resume`` continues the step count and the log) and, at the end, ``model.pt``
(weights only) whose model card states the measured test accuracy. Each step appends a
line to ``train_log.jsonl``: task loss, L_L and L_S per layer, accuracy, images/s. The folder's
manifest marks it as a training run, which analysis commands refuse to replace; a new run (no
``--resume``) refuses a folder holding an earlier run's log, and a folder holding another command's output.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from tqdm.auto import tqdm

from ..errors import DataNotFoundError, InputError
from ..models.checkpoints import IMAGENET_MEAN, IMAGENET_STD, load_checkpoint, load_train_state, save_checkpoint
from ..models.fresh import fresh_checkpoint
from ..models.lif import use_plain_lif
from ..models.registry import MODELS, check_arch_kwargs, constructor_kwargs
from ..outputs import write_manifest
from ..sheets import load_sheets
from . import distributed
from .allocator import reuse_freed_memory
from .augment import random_crop_flip, to_float_images
from .cpu_kernels import channels_last_is_safe, cpu_has_native_bf16
from .data import ImageArrays, ImageFolder, load_cifar10_zip, load_cifar100_pickles
from .optimizers import OPTIMIZERS, make_optimizer, optimizer_settings
from .provenance import extend_history, hardware_name, model_card
from .run_folder import LOG_NAME, OUT_FILES, StopRequest, TrainingInterrupted, check_out_folder, truncate_log
from .stc import STCLoss
from .validation import check_numbers, check_resume_recipe

logger = logging.getLogger(__name__)

DATASETS = ("cifar10", "cifar100", "imagefolder")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved in the checkpoint's provenance. Validated on construction (numbers
    in range, a known architecture, data set and optimizer), so a bad setting fails before any work; the
    command line reads its defaults from here."""

    out_dir: str
    dataset: str = "cifar10"
    data_path: str | None = None
    arch: str = "spiking_resnet18"
    stem: str = "cifar"
    width: float | None = None
    """Channel multiplier; None: the architecture's (1.0, or a tiny test model's 1/16)."""
    timesteps: int | None = None
    """T; None: the architecture's default (:data:`~topoanalysis.models.registry.MODELS`), 4 for the spiking
    ResNet-18, 10 for the spiking CORnet-RT."""
    arch_kwargs: dict = field(default_factory=dict)
    """Other constructor arguments of the architecture (e.g. ``depth``, ``embed_dim`` of a Spikformer), checked
    against its constructor; stem, width, timesteps and the class count have their own settings."""
    epochs: int = 1
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float | None = None
    weight_decay: float | None = None
    warmup_steps: int = 0
    alpha: float = 50.0
    beta: float = 50.0
    clusters_per_layer: int = 10
    ccg_window: str = "half_minus_one"
    positions: str | None = None
    seed: int = 0
    device: str | None = None
    precision: str | None = None
    limit_per_class: int | None = None
    image_size_px: int = 224
    workers: int = 4
    max_steps: int | None = None
    log_every: int = 1
    checkpoint_every: int | None = None
    resume: str | None = None
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.arch not in MODELS:
            raise InputError(f"unknown architecture {self.arch!r}; registered: {', '.join(sorted(MODELS))}",
                             parameter="arch")
        for name in ("timesteps", "width"):  # None: the architecture's own
            if getattr(self, name) is None:
                object.__setattr__(self, name, constructor_kwargs(self.arch, {})[name])
        own = sorted(set(self.arch_kwargs) & {"stem", "width", "timesteps", "num_classes"})
        if own:
            raise InputError(f"arch_kwargs {own[0]!r} has its own setting ({own[0]}); pass it there",
                             parameter="arch_kwargs")
        check_arch_kwargs(self.arch, dict(self.arch_kwargs))
        if self.dataset not in DATASETS:
            raise InputError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}", parameter="dataset")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}",
                             parameter="optimizer")
        check_numbers(self)


def _load_data(config: TrainConfig):
    """(train, test): in-memory :class:`ImageArrays`, or lazy :class:`ImageFolder` trees."""
    if config.dataset == "imagefolder":
        if config.data_path is None:
            raise InputError("dataset 'imagefolder' needs data_path ROOT holding train/<class>/ and val/<class>/",
                             parameter="data_path")
        root = Path(config.data_path)
        return ImageFolder(root / "train", config.image_size_px), ImageFolder(root / "val", config.image_size_px)
    if config.dataset == "cifar10":
        return (load_cifar10_zip(config.data_path, "train", config.limit_per_class),
                load_cifar10_zip(config.data_path, "test", config.limit_per_class))
    if config.dataset == "cifar100":
        if config.data_path is None:
            raise InputError("dataset 'cifar100' needs data_path DIR (the extracted cifar-100-python folder)",
                             parameter="data_path")
        return load_cifar100_pickles(config.data_path, "train"), load_cifar100_pickles(config.data_path, "test")
    raise InputError(f"unknown dataset {config.dataset!r}; valid: {', '.join(DATASETS)}")


def _normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    mean_t = torch.as_tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.as_tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


def _batches(data, indices: torch.Tensor, batch_size: int, workers: int, drop_last: bool):
    """``(uint8 images [B, H, W, 3], labels [B])`` batches of ``data`` in ``indices`` order."""
    if isinstance(data, ImageArrays):
        stop = len(indices) - batch_size + 1 if drop_last else len(indices)
        for start in range(0, max(stop, 0), batch_size):
            idx = indices[start:start + batch_size].numpy()
            yield torch.from_numpy(data.images[idx]), torch.from_numpy(data.labels[idx])
        return
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(data, indices.tolist()), batch_size=batch_size,
                                         num_workers=workers, drop_last=drop_last, collate_fn=_collate)
    yield from loader


def _collate(items):
    images, labels = zip(*items)
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def _mean_std(data):
    return (data.mean, data.std) if isinstance(data, ImageArrays) else (IMAGENET_MEAN, IMAGENET_STD)


def learning_rate(step: int, total_steps: int, base_lr: float, warmup_steps: int) -> float:
    """Linear warm-up, then cosine decay to zero at ``total_steps``."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(1.0, progress)))


def evaluate(model, data, *, device, batch_size: int, info, workers: int = 0) -> float:
    """Top-1 accuracy on ``data`` in fp32, the tested reference path (sharded over ranks, counts summed)."""
    model.eval()
    index = torch.arange(len(data))
    index = distributed.shard(index, info) if info.enabled else index
    mean, std = _mean_std(data)
    counts = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for images, labels in _batches(data, index, batch_size, workers, drop_last=False):
            x = _normalise(to_float_images(images.to(device)), mean, std).contiguous(memory_format=torch.channels_last)
            logits = model(x)
            functional.reset_net(model)
            counts[0] += (logits.argmax(1).cpu() == labels).sum().item()
            counts[1] += len(labels)
    counts = distributed.all_sum(counts, info)
    return float(counts[0] / counts[1])


def _initial(config: TrainConfig, train):
    """Fresh model and spec (sheets from ``config.positions`` when given)."""
    arch_kwargs = {**config.arch_kwargs, "stem": config.stem, "width": config.width,
                   "num_classes": len(train.classes), "timesteps": config.timesteps}
    size = train.images.shape[1] if isinstance(train, ImageArrays) else train.size_px
    model, spec = fresh_checkpoint(config.arch, seed=config.seed, input_size_px=size, arch_kwargs=arch_kwargs)
    if config.positions:
        sheets = load_sheets(config.positions)
        missing = sorted(set(spec.sheets) - set(sheets))
        if missing:
            raise InputError(f"{config.positions} has no sheets for {missing}; it holds {sorted(sheets)}")
        mismatched = [n for n in spec.sheets if sheets[n].shape_chw != spec.sheets[n].shape_chw]
        if mismatched:
            raise InputError(f"{config.positions}: sheets {mismatched} do not match this model's layer shapes; "
                             "make the positions with the same architecture, width and input size")
        spec = replace(spec, sheets={name: sheets[name] for name in spec.sheets},
                       provenance={**spec.provenance, "sheets": f"from {Path(config.positions).name}"})
    mean, std = _mean_std(train)
    return model, replace(spec, mean=mean, std=std)


def _optimizer(config: TrainConfig, model) -> tuple[torch.optim.Optimizer, float]:
    """AdamW (the paper's recipe) or Nesterov SGD, with the option's defaults filled in."""
    used = optimizer_settings(config.optimizer, config.lr, config.weight_decay)
    return make_optimizer(config.optimizer, model.parameters(), **used), used["lr"]


def denormals_flushed() -> bool:
    """Whether this thread flushes denormal floats to zero (torch can set that, not read it)."""
    return bool(torch.tensor([1e-39]) * 2 == 0)


def train(config: TrainConfig):
    """Run training as configured; returns ``(model, spec)`` (on every rank).

    Denormal floats are flushed to zero meanwhile (a oneDNN convolution's backward over them was
    reported to take > 1,000 s instead of 11 s); this thread's earlier setting is restored after.
    """
    flushed = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        return _train(config)
    finally:
        torch.set_flush_denormal(flushed)


def _train(config: TrainConfig):
    # on every rank before the process group forms, so before any rank writes
    out = check_out_folder(config.out_dir, resume=config.resume)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        reuse_freed_memory()  # the step's large temporaries stay mapped between steps
    info = distributed.init_from_env(device.type)
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
    precision = config.precision or ("bf16" if device.type == "cuda" else "fp32")
    if device.type == "cpu" and precision == "bf16" and not cpu_has_native_bf16():
        logger.warning("bf16 on this CPU is emulated (no AVX512-BF16 or AMX): a training step can take 10-15x "
                       "as long as in fp32; pass --precision fp32 here")
    state = None
    if config.resume:
        if not Path(config.resume).is_file():
            raise DataNotFoundError(f"resume {config.resume}: no such file; pass the checkpoint_last.pt that "
                                    "training writes in its out_dir folder", parameter="resume")
        model, spec = load_checkpoint(config.resume)
        check_resume_recipe(config, spec)
        state = load_train_state(config.resume)
    train_data, test_data = _load_data(config)  # before --out is made: a bad data set leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    if info.is_main:
        write_manifest(out, LOG_NAME, OUT_FILES)
    if state is None:
        model, spec = _initial(config, train_data)
    memory_format = torch.channels_last  # faster convolutions (oneDNN, cuDNN); same values
    if device.type == "cpu" and not channels_last_is_safe(model):
        memory_format = torch.contiguous_format
        logger.info("channels_last off: a strided 1x1 convolution with fewer than 8 input channels crashes its "
                    "backward pass on some CPUs (topoanalysis.training.cpu_kernels)")
    model.to(device, memory_format=memory_format)
    if device.type == "cuda":  # the plain-ops LIF fuses on the GPU; identical spikes, LIFNode in the checkpoint
        use_plain_lif(model)
    layers = list(spec.sheets)
    topographic = config.alpha > 0 or config.beta > 0
    stc = (STCLoss(spec.sheets, alpha=config.alpha, beta=config.beta,
                   clusters_per_layer=config.clusters_per_layer, timesteps=config.timesteps,
                   window=config.ccg_window, seed=config.seed).to(device) if topographic else None)
    mean, std = spec.mean, spec.std
    net = torch.nn.parallel.DistributedDataParallel(model) if info.enabled else model
    optimizer, base_lr = _optimizer(config, model)
    steps_per_epoch = len(train_data) // info.world_size // config.batch_size
    if steps_per_epoch < 1:
        raise InputError(f"batch size {config.batch_size} x {info.world_size} processes exceeds the "
                         f"{len(train_data)} training images")
    total_steps = steps_per_epoch * config.epochs  # the LR schedule's length
    stop_step = total_steps if config.max_steps is None else min(total_steps, config.max_steps)
    augment_gen = torch.Generator().manual_seed(config.seed * 1000 + info.rank)
    stc_gen = torch.Generator().manual_seed(config.seed)  # same clusters on every rank
    step, start_epoch, elapsed = 0, 0, 0.0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        step, start_epoch, elapsed = int(state["step"]), int(state["epoch"]), float(state["elapsed_s"])
        augment_gen.set_state(state["augment_rng"][info.rank] if info.rank < len(state["augment_rng"])
                              else state["augment_rng"][0])
        stc_gen.set_state(state["stc_rng"])
    history = extend_history(state.get("history") if state is not None else None,
                             spec.provenance if state is not None else None, step, precision,
                             hardware_name(device, info))
    log_path = out / LOG_NAME
    if info.is_main:
        truncate_log(log_path, step)
    log = open(log_path, "a") if info.is_main else None
    started = time.perf_counter() - elapsed
    test_acc = float(state["test_acc"]) if state is not None and "test_acc" in state else float("nan")
    stop = StopRequest(enabled=not info.enabled)  # one process: DDP ranks would have to agree to stop

    def save_last(epochs_done: int) -> None:
        """``checkpoint_last.pt``: weights, card and everything a resume needs."""
        train_state = {"optimizer": optimizer.state_dict(), "step": step, "epoch": epochs_done,
                       "elapsed_s": time.perf_counter() - started, "history": history,
                       "augment_rng": [augment_gen.get_state()], "stc_rng": stc_gen.get_state(),
                       "test_acc": test_acc}
        card = model_card(config, spec, history, test_acc, step, step / steps_per_epoch,
                           time.perf_counter() - started, (len(train_data), len(test_data)))
        save_checkpoint(out / "checkpoint_last.pt", model, replace(spec, provenance=card), train_state=train_state)

    try:
        for epoch in range(start_epoch, config.epochs):
            if step >= stop_step:
                break
            # seed * 1,000,003 + epoch: seeds never share an epoch's order (seed + epoch would shift one onto another)
            order_gen = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
            order = torch.randperm(len(train_data), generator=order_gen)
            order = distributed.shard(order, info) if info.enabled else order
            first = max(0, step - epoch * steps_per_epoch)  # > 0 only when resuming mid-epoch
            bar = tqdm(_batches(train_data, order[first * config.batch_size:], config.batch_size, config.workers,
                                drop_last=True),
                       total=steps_per_epoch - first, desc=f"epoch {epoch + 1}/{config.epochs}",
                       disable=not info.is_main, unit="step")
            net.train()
            for images, labels in bar:
                if step >= stop_step or stop.requested:
                    break
                t0 = time.perf_counter()
                x = to_float_images(images.to(device))
                x = _normalise(random_crop_flip(x, generator=augment_gen, pad_px=max(1, x.shape[-1] // 8)), mean, std)
                x = x.contiguous(memory_format=memory_format)
                y = labels.to(device)
                lr = learning_rate(step, total_steps, base_lr, config.warmup_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
                    if topographic:
                        logits, features = net(x, return_features=layers)
                    else:
                        logits, features = net(x), {}
                    task_loss = F.cross_entropy(logits.float(), y)
                stc_loss, stats = (stc(features, generator=stc_gen) if topographic
                                   else (torch.zeros((), device=device), {}))
                loss = task_loss + stc_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                functional.reset_net(model)
                step += 1
                if step % config.log_every == 0 or step == stop_step:  # every rank: the sums are collective
                    whole = distributed.all_sum(torch.stack([
                        task_loss.detach().float() * len(y), (logits.argmax(1) == y).sum().float(),
                        torch.as_tensor(stc_loss, dtype=torch.float32, device=y.device).detach(),
                        torch.tensor(float(len(y)), device=y.device)]), info)  # the whole batch, all ranks
                if info.is_main and (step % config.log_every == 0 or step == stop_step):
                    seconds = time.perf_counter() - t0
                    record = {"step": step, "epoch": epoch + 1, "lr": lr, "task_loss": float(whole[0] / whole[3]),
                              "stc_loss": float(whole[2] / info.world_size),
                              "train_acc": float(whole[1] / whole[3]),
                              "img_per_s": round(len(y) * info.world_size / seconds, 1)}
                    for name, values in stats.items():
                        for key, value in values.items():
                            record[f"{key}/{name}"] = float(value)
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.set_postfix(loss=f"{record['task_loss']:.3f}", stc=f"{record['stc_loss']:.3f}",
                                    acc=f"{record['train_acc']:.2f}")
                if (config.checkpoint_every and step % config.checkpoint_every == 0
                        and step % steps_per_epoch != 0 and step < stop_step):  # the epoch's end saves anyway
                    distributed.broadcast_buffers(model, info)
                    if info.is_main:
                        save_last(epoch)
            distributed.broadcast_buffers(model, info)  # each rank's last forward moved its BN statistics
            if not stop.requested:
                test_acc = evaluate(model, test_data, device=device, batch_size=config.batch_size, info=info,
                                    workers=config.workers)
            if info.is_main:
                if not stop.requested:
                    logger.info("epoch %d: test accuracy %.4f (step %d)", epoch + 1, test_acc, step)
                save_last(epoch + 1 if step >= (epoch + 1) * steps_per_epoch else epoch)  # partial: resume in it
            if stop.requested:
                raise TrainingInterrupted(out / "checkpoint_last.pt", step)
        if info.is_main:
            card = model_card(config, spec, history, test_acc, step, step / steps_per_epoch,
                               time.perf_counter() - started, (len(train_data), len(test_data)))
            spec = save_checkpoint(out / "model.pt", model, replace(spec, provenance=card))
            logger.info("wrote %s: test accuracy %.4f, sha256 %s", out / "model.pt", test_acc, spec.content_sha256)
    finally:
        stop.restore()
        if log is not None:
            log.close()
        distributed.close(info)
    return model, spec

"""One training stage: set up -> train -> save. Scales out through Hugging Face accelerate.

Run it with ``python -m train CONFIG.yaml key=value ...`` on one process, or with
``accelerate launch -m train CONFIG.yaml ...`` on several GPUs or machines (DDP).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterator

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm import tqdm
from transformers import get_scheduler

from ltu.checkpoint import build_model, load_pretrained, save_pretrained, TRAINED_MODEL_DIR
from ltu.config import LTUConfig
from ltu.model import LTUModel
from ltu.processor import IGNORE_INDEX, LTUProcessor
from ltu.runtime import Runtime
from ltu.transcribe import transcriber_for
from train.config import TrainConfig, save_json
from train.data import FeatureCache, QADataset, prepare_dataset, read_rows
from train.metrics import LOSS_PLOT, MetricsLog, plot_loss
from train.state import Progress, latest_checkpoint, restore_checkpoint, save_checkpoint

CACHE_FOLDER = ".ltu-cache"
CONFIG_COPY = "train_config.json"


def run(cfg: TrainConfig) -> Path | None:
    """Train one stage; returns the final checkpoint folder (None if stopped by ``stop_after``)."""
    accelerator = Accelerator(cpu=cfg.device == "cpu", mixed_precision=cfg.mixed_precision)
    set_seed(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = accelerator.print
    model, processor = _load_model(cfg, accelerator)
    counts = declare_trainable(model, cfg.trainable)
    say("trainable parameters: " + ", ".join(f"{g} {n:,}" for g, n in counts.items())
        + f" (total {sum(counts.values()):,}; frozen {_frozen(model):,})")

    data, eval_data = _datasets(cfg, model, processor, say)
    sampler = EpochSampler(len(data), cfg.seed, cfg.shuffle)
    # The loader gets its own generator: starting an epoch then never draws from the global RNG,
    # which LoRA dropout uses, so a resumed run continues with exactly the same random stream.
    loader = torch.utils.data.DataLoader(data, batch_size=cfg.batch_size, sampler=sampler,
                                         collate_fn=lambda items: _collate(processor, items),
                                         generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = max(1, len(loader) // cfg.grad_accum)
    total_steps = cfg.max_steps or math.ceil(cfg.epochs * len(loader) / cfg.grad_accum)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    scheduler = get_scheduler(cfg.schedule, optimizer, num_warmup_steps=min(cfg.warmup_steps, total_steps),
                              num_training_steps=total_steps)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    progress = Progress()
    resume_from = latest_checkpoint(out) if cfg.resume else None
    if resume_from is not None:
        progress = restore_checkpoint(resume_from, accelerator.unwrap_model(model), optimizer, scheduler)
        say(f"resumed from {resume_from} at step {progress.step}")
    if accelerator.is_main_process:
        save_json(cfg, out / CONFIG_COPY)
    say(f"{len(data)} examples, {len(loader)} batches of {cfg.batch_size} per epoch; "
        f"{total_steps} optimizer steps ({steps_per_epoch} per epoch, grad_accum {cfg.grad_accum})")

    log = MetricsLog(out, enabled=accelerator.is_main_process)
    log.truncate(progress.step)
    finished = _train_loop(cfg, accelerator, model, optimizer, scheduler, loader, sampler, progress, total_steps,
                           eval_data, processor, log, out)
    log.close()
    if not finished:
        return None
    final = out / TRAINED_MODEL_DIR
    if accelerator.is_main_process:
        save_pretrained(accelerator.unwrap_model(model), final)
        plot_loss(log.records(), out / LOSS_PLOT, title=f"{Path(cfg.output_dir).name}: loss")
        say(f"saved {final}")
    accelerator.wait_for_everyone()
    return final


def declare_trainable(model: LTUModel, groups: tuple[str, ...]) -> dict[str, int]:
    """Freeze everything, then unfreeze the named groups; returns parameter counts per group."""
    model.requires_grad_(False)
    members = {
        "encoder": list(model.encoder.parameters()),
        "projector": list(model.audio_proj.parameters()),
        "lora": [p for n, p in model.llm.named_parameters() if "lora_" in n],
    }
    for group in groups:
        if not members[group]:
            raise ValueError(f"'{group}' is declared trainable but this model has no {group} parameters")
        for param in members[group]:
            param.requires_grad_(True)
    return {g: sum(p.numel() for p in members[g]) for g in groups}


class EpochSampler(torch.utils.data.Sampler[int]):
    """A fixed permutation per (seed, epoch), so a resumed run sees the same order."""

    def __init__(self, size: int, seed: int, shuffle: bool) -> None:
        self.size, self.seed, self.shuffle, self.epoch = size, seed, shuffle, 0

    def use_epoch(self, epoch: int) -> None:
        """Order for ``epoch`` (not named set_epoch: accelerate would drive it with its own counter)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.size))
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=gen).tolist())

    def __len__(self) -> int:
        return self.size


def _train_loop(cfg: TrainConfig, accelerator: Accelerator, model: Any, optimizer: Any, scheduler: Any, loader: Any,
                sampler: EpochSampler, progress: Progress, total_steps: int, eval_data: QADataset | None,
                processor: LTUProcessor, log: MetricsLog, out: Path) -> bool:
    model.train()
    batches_per_epoch = len(loader)
    bar = tqdm(total=total_steps, initial=progress.step, disable=not accelerator.is_local_main_process,
               desc="train", dynamic_ncols=True)
    window_loss, window_samples, window_start = 0.0, 0, time.perf_counter()
    while progress.step < total_steps:
        epoch, skip = divmod(progress.micro, batches_per_epoch)
        sampler.use_epoch(epoch)
        for batch in accelerator.skip_first_batches(loader, skip) if skip else loader:
            progress.micro += 1
            boundary = progress.micro % cfg.grad_accum == 0
            with nullcontext() if boundary else accelerator.no_sync(model):
                loss = model(**batch.as_kwargs()).loss
                accelerator.backward(loss / cfg.grad_accum)
            window_loss += loss.item() / cfg.grad_accum
            window_samples += batch.input_ids.shape[0] * accelerator.num_processes
            if not boundary:
                continue
            if cfg.max_grad_norm > 0:
                accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress.step += 1
            bar.update(1)
            if progress.step % cfg.log_every == 0 or progress.step == total_steps:
                elapsed = time.perf_counter() - window_start
                steps = cfg.log_every if progress.step % cfg.log_every == 0 else progress.step % cfg.log_every
                record = {"step": progress.step, "epoch": round(progress.micro / batches_per_epoch, 3),
                          "loss": round(window_loss / max(steps, 1), 5), "lr": scheduler.get_last_lr()[0],
                          "samples_per_s": round(window_samples / max(elapsed, 1e-9), 2)}
                bar.set_postfix(loss=record["loss"], lr=f"{record['lr']:.2e}", sps=record["samples_per_s"])
                log.write(record)
                window_loss, window_samples, window_start = 0.0, 0, time.perf_counter()
            if _checkpoint_due(cfg, progress.step, total_steps):
                if eval_data is not None:
                    log.write({"step": progress.step, "eval_loss": evaluate_loss(accelerator.unwrap_model(model),
                                                                                 processor, eval_data, cfg.batch_size)})
                    model.train()
                if accelerator.is_main_process:
                    save_checkpoint(out, accelerator.unwrap_model(model), optimizer, scheduler, progress,
                                    cfg.keep_checkpoints)
                accelerator.wait_for_everyone()
            if cfg.stop_after and progress.step >= cfg.stop_after:
                bar.close()
                return False
            if progress.step >= total_steps:
                break
    bar.close()
    return True


@torch.no_grad()
def evaluate_loss(model: LTUModel, processor: LTUProcessor, data: QADataset, batch_size: int) -> float:
    """Mean loss over a held-out set (per example weight: its share of scored tokens)."""
    model.eval()
    total, tokens = 0.0, 0
    for start in range(0, len(data), batch_size):
        inputs = _collate(processor, [data[i] for i in range(start, min(start + batch_size, len(data)))])
        inputs = inputs.to(model.audio_device)
        scored = int((inputs.labels[:, 1:] != IGNORE_INDEX).sum())
        total += model(**inputs.as_kwargs()).loss.item() * scored
        tokens += scored
    return round(total / max(tokens, 1), 5)


def _checkpoint_due(cfg: TrainConfig, step: int, total: int) -> bool:
    return step == total or (cfg.save_every > 0 and step % cfg.save_every == 0)


def _collate(processor: LTUProcessor, items: list) -> Any:
    return processor.collate([s for s, _ in items], [c for _, c in items], padding_side="right")


def _load_model(cfg: TrainConfig, accelerator: Accelerator) -> tuple[LTUModel, LTUProcessor]:
    runtime = Runtime(device=str(accelerator.device), dtype="float32", quantization=cfg.quantization)
    if cfg.init_from is not None:
        model, processor = load_pretrained(cfg.init_from, runtime, trainable=True)
    else:
        model, processor = build_model(_model_config(cfg.model), runtime, trainable=True)  # type: ignore[arg-type]
    if cfg.quantization != "none":
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(model.llm, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable()
        model.llm.enable_input_require_grads()
    return model, processor


def _model_config(path: str) -> LTUConfig:
    if path.endswith((".yaml", ".yml")):
        import yaml

        return LTUConfig.from_dict(yaml.safe_load(Path(path).read_text()))
    return LTUConfig.load(path)


def _datasets(cfg: TrainConfig, model: LTUModel, processor: LTUProcessor, say: Any) -> tuple[QADataset, QADataset | None]:
    frozen = "encoder" not in cfg.trainable
    data_file = Path(cfg.train_data)
    root = Path(cfg.data_root) if cfg.data_root else data_file.parent
    transcriber = transcriber_for(model.config) if cfg.transcripts else None
    cache = FeatureCache(Path(cfg.cache_dir) if cfg.cache_dir else root / CACHE_FOLDER, model, processor, frozen,
                         transcriber)
    progress = lambda items: tqdm(items, desc="audio features", dynamic_ncols=True)  # noqa: E731
    data, report = prepare_dataset(read_rows(data_file), root, cache, processor, train_on_inputs=cfg.train_on_inputs,
                                   max_text_tokens=cfg.max_text_tokens, skip_bad_rows=cfg.skip_bad_rows,
                                   progress=progress)
    if not report.ok:
        say(f"skipped {len(report.bad_rows)} bad rows:\n{report.summary()}")
    eval_data = None
    if cfg.eval_data:
        eval_data, _ = prepare_dataset(read_rows(cfg.eval_data), root, cache, processor,
                                       train_on_inputs=cfg.train_on_inputs, max_text_tokens=cfg.max_text_tokens,
                                       skip_bad_rows=True, progress=progress)
    return data, eval_data


def _frozen(model: LTUModel) -> int:
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)

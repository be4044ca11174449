"""One training stage: set up -> train -> save. Scales out through Hugging Face accelerate.

Run it with ``python -m train CONFIG.yaml key=value ...`` on one process, or with
``accelerate launch -m train CONFIG.yaml ...`` on several GPUs or machines (DDP).
"""

from __future__ import annotations

import json
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
from ltu.errors import ConfigError, DeviceError
from ltu.model import LTUModel
from ltu.processor import IGNORE_INDEX, LTUProcessor
from ltu.runtime import Runtime
from ltu.transcribe import transcriber_for
from train.config import TrainConfig, save_json
from train.data import (FeatureCache, QADataset, ValidationReport, check_rows, prepare_dataset, read_rows,
                        stop_on_problems)
from train.metrics import LOSS_PLOT, MetricsLog, plot_loss
from train.state import (CONFIG_COPY, SETTINGS_HISTORY, Progress, latest_checkpoint, remove_unfinished,
                         restore_checkpoint, save_checkpoint, set_aside)

CACHE_FOLDER = ".ltu-cache"


def run(cfg: TrainConfig) -> Path | None:
    """Train one stage; returns the final checkpoint folder (None if stopped by ``stop_after``)."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device=cuda was asked for, but torch sees no CUDA GPU here; use device=cpu or auto.")
    accelerator = Accelerator(cpu=cfg.device == "cpu", mixed_precision=cfg.mixed_precision)
    set_seed(cfg.seed)
    out = Path(cfg.output_dir)
    say = accelerator.print
    # What can be checked without the model comes first, and nothing is written before it passes.
    rows = _checked_rows(cfg, say)
    resume_from = _resume_point(cfg, out, accelerator, say)
    say(f"loading the model ({cfg.init_from or cfg.model}) ...")
    model, processor = _load_model(cfg, accelerator)
    counts = declare_trainable(model, cfg.trainable)
    say("trainable parameters: " + ", ".join(f"{g} {n:,}" for g, n in counts.items())
        + f" (total {sum(counts.values()):,}; frozen {_frozen(model):,})")

    data, eval_data = _datasets(cfg, model, processor, rows, say)
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
    if resume_from is not None:
        progress = restore_checkpoint(resume_from, accelerator.unwrap_model(model), optimizer, scheduler)
        say(f"resumed from {resume_from} at step {progress.step}")
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        _record_settings(cfg, out)
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
        "projector": list(model.audio_proj.parameters())
        + ([] if model.audio_summary is None else list(model.audio_summary.parameters()))
        + ([] if model.audio_hint is None else model.audio_hint.trainable()),  # its classifier stays as fitted
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
    window_samples, window_start = 0, time.perf_counter()  # throughput since the last line (or this process's start)
    while progress.step < total_steps:
        epoch, skip = divmod(progress.micro, batches_per_epoch)
        sampler.use_epoch(epoch)
        for batch in accelerator.skip_first_batches(loader, skip) if skip else loader:
            progress.micro += 1
            boundary = progress.micro % cfg.grad_accum == 0
            with nullcontext() if boundary else accelerator.no_sync(model):
                loss = model(**batch.as_kwargs()).loss
                accelerator.backward(loss / cfg.grad_accum)
            progress.window_loss += loss.item() / cfg.grad_accum
            window_samples += batch.input_ids.shape[0] * accelerator.num_processes
            if not boundary:
                continue
            if cfg.max_grad_norm > 0:
                accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress.step += 1
            progress.window_steps += 1
            bar.update(1)
            if progress.step % cfg.log_every == 0 or progress.step == total_steps:
                elapsed = time.perf_counter() - window_start
                record = {"step": progress.step, "epoch": round(progress.micro / batches_per_epoch, 3),
                          "loss": round(progress.window_loss / progress.window_steps, 5),
                          "lr": scheduler.get_last_lr()[0],
                          "samples_per_s": round(window_samples / max(elapsed, 1e-9), 2)}
                bar.set_postfix(loss=record["loss"], lr=f"{record['lr']:.2e}", sps=record["samples_per_s"])
                log.write(record)
                progress.window_loss, progress.window_steps = 0.0, 0
                window_samples, window_start = 0, time.perf_counter()
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
        _start_class_hint(model, cfg.class_hint)
    _set_hint_only(model, cfg.hint_only)
    if cfg.quantization != "none":
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(model.llm, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable()
        model.llm.enable_input_require_grads()
    return model, processor


def _start_class_hint(model: LTUModel, path: str | None) -> None:
    """Load the fitted class hint into a new model that has one (ltu/class_hint.py)."""
    if model.audio_hint is None:
        if path is not None:
            raise ConfigError("class_hint is given but the model's encoder.class_hint names no classes.")
        return
    if path is None:
        raise ConfigError("The model adds a class hint (encoder.class_hint): fit it first with python -m train.hint "
                          "and give its file as class_hint=...")
    from train.hint import load_hint

    load_hint(model, Path(path))


def _set_hint_only(model: LTUModel, share: float) -> None:
    """Training only: the share of windows the LLM sees as their class hint alone (ltu/class_hint.py)."""
    if not 0.0 <= share < 1.0:
        raise ConfigError(f"hint_only must be at least 0 and below 1, not {share}.")
    if share and model.audio_hint is None:
        raise ConfigError("hint_only is set but the model adds no class hint (its encoder.class_hint is empty).")
    if model.audio_hint is not None:
        model.audio_hint.hint_only = share


def _model_config(path: str) -> LTUConfig:
    if path.endswith((".yaml", ".yml")):
        import yaml

        return LTUConfig.from_dict(yaml.safe_load(Path(path).read_text()))
    return LTUConfig.load(path)


def _resume_point(cfg: TrainConfig, out: Path, accelerator: Accelerator, say: Any) -> Path | None:
    """The checkpoint to resume from, after checking that ``out`` holds this run and not another one.

    Resuming with other settings is refused (the result would be neither run). A fresh start in a folder
    that holds an earlier run (``resume=false``, or other settings and nothing to resume) first moves the
    earlier run's files to ``earlier-N/``, so no history is overwritten and two runs never mix."""
    if accelerator.is_main_process:
        for path in remove_unfinished(out):
            say(f"removed {path.name}, left unfinished by an interrupted save")
    checkpoint = latest_checkpoint(out) if cfg.resume else None
    changed = _changed_settings(cfg, out, ignore=cfg.RESUMABLE_CHANGES)
    if checkpoint is not None and changed:
        raise ConfigError(f"{out} holds a run with other settings ({changed}), so it cannot resume with these. "
                          f"Use a new output_dir (init_from={out} starts from its weights), or resume=false to "
                          "set the earlier run aside and start over here.")
    if checkpoint is None and (not cfg.resume or changed):
        accelerator.wait_for_everyone()
        if accelerator.is_main_process and (earlier := set_aside(out)) is not None:
            say(f"moved the earlier run in {out} to {earlier}")
        accelerator.wait_for_everyone()
    return checkpoint


def _changed_settings(cfg: TrainConfig, out: Path, ignore: tuple[str, ...] = ()) -> str:
    """How ``cfg`` differs from the settings saved in ``out`` ('' when they agree or none are saved)."""
    saved = out / CONFIG_COPY
    if not saved.is_file():
        return ""
    try:
        before = json.loads(saved.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"Cannot read {saved} ({err}); move it away to reuse this folder.") from err
    return ", ".join(f"{k} {before.get(k)!r} -> {v!r}" for k, v in cfg.to_dict().items()
                     if k not in ignore and before.get(k) != v)


def _record_settings(cfg: TrainConfig, out: Path) -> None:
    """Save the settings this process runs with; settings they replace go to the history file first."""
    saved = out / CONFIG_COPY
    if _changed_settings(cfg, out):
        with open(out / SETTINGS_HISTORY, "a") as f:
            f.write(json.dumps(json.loads(saved.read_text())) + "\n")
    save_json(cfg, saved)


DataFiles = dict[str, tuple[list[dict[str, Any]], Path, ValidationReport]]  # "train"/"eval": rows, data root, report


def _checked_rows(cfg: TrainConfig, say: Any) -> DataFiles:
    """Read the data files and check their rows (fields, audio files present): seconds, before the model loads."""
    found = {}
    for name, path in (("train", cfg.train_data), ("eval", cfg.eval_data)):
        if path is None:
            continue
        rows = read_rows(path)
        root = Path(cfg.data_root) if cfg.data_root else Path(path).parent
        report = check_rows(rows, root)
        if name == "train":
            stop_on_problems(report, cfg.skip_bad_rows)
        say(f"{path}: {len(rows)} rows" + (f", {len(report.bad_rows)} with problems" if not report.ok else ""))
        found[name] = (rows, root, report)
    return found


def _datasets(cfg: TrainConfig, model: LTUModel, processor: LTUProcessor, files: DataFiles,
              say: Any) -> tuple[QADataset, QADataset | None]:
    frozen = "encoder" not in cfg.trainable
    rows, root, report = files["train"]
    say("preparing audio features" + (" and transcripts" if cfg.transcripts and model.config.prompt.transcript_source
                                      else "") + " ...")
    transcriber = transcriber_for(model.config) if cfg.transcripts else None
    cache = FeatureCache(Path(cfg.cache_dir) if cfg.cache_dir else root / CACHE_FOLDER, model, processor, frozen,
                         transcriber)
    say(f"audio features are cached in {cache.folder}")
    progress = lambda items: tqdm(items, desc="audio features", dynamic_ncols=True, mininterval=1.0)  # noqa: E731
    data, report = prepare_dataset(rows, root, cache, processor, train_on_inputs=cfg.train_on_inputs,
                                   max_text_tokens=cfg.max_text_tokens, skip_bad_rows=cfg.skip_bad_rows,
                                   report=report, copies=cfg.augment_copies, progress=progress)
    if not report.ok:
        say(f"skipped {len(report.bad_rows)} bad rows:\n{report.summary()}")
    eval_data = None
    if "eval" in files:
        rows, root, report = files["eval"]
        eval_data, _ = prepare_dataset(rows, root, cache, processor, train_on_inputs=cfg.train_on_inputs,
                                       max_text_tokens=cfg.max_text_tokens, skip_bad_rows=True, report=report,
                                       progress=progress)
    return data, eval_data


def _frozen(model: LTUModel) -> int:
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)

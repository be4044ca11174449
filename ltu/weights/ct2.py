"""Read CTranslate2 model files and turn a CTranslate2 Whisper model into a transformers one.

A CTranslate2 ``model.bin`` (binary format version 6, written by
``ctranslate2.specs.model_spec.ModelSpec._serialize``) is a little-endian stream::

    u32 version (6) | string spec name ("WhisperSpec") | u32 spec revision
    u32 count, then per variable:
        string name | u8 rank | u32 dim x rank | u8 dtype id | u32 byte count | raw bytes
    u32 count, then per alias: string alias | string name of the variable it stands for

where a string is ``u16 length (with the trailing NUL) | UTF-8 bytes | NUL``. Variables
are weights (``encoder/layer_0/self_attention/linear_0/weight``) and scalar settings
(``decoder/activation``); an alias shares a variable (Whisper's output projection is its
token embedding). The reader here needs no ``ctranslate2`` package.

Whisper in CTranslate2 fuses projections that transformers keeps apart: self-attention's
``linear_0`` stacks q, k and v along the output dimension, cross-attention's ``linear_1``
stacks k and v. Whisper's key projections have no bias; CTranslate2 stores zeros there.
Every variable of the file either lands in the transformers state dict, is checked as a
setting, or is listed in ``WhisperConversion.notes`` with the reason it is not needed.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

from ltu.errors import CheckpointError
from ltu.weights.strict import load_strict

BINARY_VERSION = 6  # ctranslate2.specs.model_spec.CURRENT_BINARY_VERSION (ctranslate2 3.x and 4.x)
# CTranslate2's DataType enum (include/ctranslate2/types.h); a variable's dtype id indexes this tuple
DTYPES = (torch.float32, torch.int8, torch.int16, torch.int32, torch.float16, torch.bfloat16)
GELU = 3  # ctranslate2.specs.common_spec.Activation.GELU, the only activation Whisper uses
MULTILINGUAL_VOCAB = 51865  # openai-whisper: a vocabulary this large (or larger) is multilingual
MAX_INITIAL_TIMESTAMP_INDEX = 50  # openai-whisper: the first timestamp is at most 1.0 s (50 x 20 ms)


@dataclass(frozen=True)
class CT2Model:
    """The contents of a CTranslate2 ``model.bin``."""

    spec: str  # the model spec's name, e.g. "WhisperSpec"
    revision: int  # the spec's revision (WhisperSpec: 3)
    variables: dict[str, torch.Tensor]  # name -> tensor (0-dim for scalar settings), dtype as stored
    aliases: dict[str, str]  # alias -> the variable name it shares


def read_model(parts: Sequence[Path]) -> CT2Model:
    """Read a ``model.bin``, given as one file or as parts that are joined in the order given."""
    data = bytearray()
    for part in parts:
        try:
            data += Path(part).read_bytes()
        except OSError as err:
            raise CheckpointError(f"Cannot read the CTranslate2 model file {part}: {err.strerror or err}.") from err
    label = " + ".join(Path(p).name for p in parts)
    return parse_model(bytes(data), label)


def parse_model(data: bytes, label: str = "model.bin") -> CT2Model:
    """Parse the bytes of a ``model.bin`` (format version 6)."""
    reader = _Reader(data, label)
    try:
        version = reader.unpack("I")
        if version != BINARY_VERSION:
            raise CheckpointError(
                f"{label} is CTranslate2 binary format version {version}; only version {BINARY_VERSION} "
                "(ctranslate2 3.x/4.x) can be read. Re-convert the model with a current ctranslate2."
            )
        spec = reader.string()
        revision = reader.unpack("I")
        variables = {}
        for _ in range(reader.unpack("I")):
            name = reader.string()
            shape = [reader.unpack("I") for _ in range(reader.unpack("B"))]
            variables[name] = reader.tensor(name, shape, reader.unpack("B"), reader.unpack("I"))
        aliases = {}
        for _ in range(reader.unpack("I")):
            alias = reader.string()
            aliases[alias] = reader.string()
    except struct.error as err:
        raise CheckpointError(
            f"{label} ends early at byte {reader.offset} of {len(data)}: the file is truncated, "
            "or its parts were joined in the wrong order."
        ) from err
    if reader.offset != len(data):
        raise CheckpointError(f"{label} has {len(data) - reader.offset} unexpected bytes after its last entry.")
    dangling = {a: n for a, n in aliases.items() if n not in variables}
    if dangling:
        raise CheckpointError(f"{label} has aliases to variables it does not hold: {dangling}.")
    return CT2Model(spec=spec, revision=revision, variables=variables, aliases=aliases)


class _Reader:
    """A cursor over the bytes of a model.bin."""

    def __init__(self, data: bytes, label: str) -> None:
        self.data, self.label, self.offset = data, label, 0

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return value

    def string(self) -> str:
        length = self.unpack("H")  # includes the trailing NUL
        raw = self.data[self.offset : self.offset + length]
        if len(raw) != length or not raw.endswith(b"\0"):
            raise struct.error("string runs past the end of the data")
        self.offset += length
        return raw[:-1].decode("utf-8")

    def tensor(self, name: str, shape: list[int], dtype_id: int, num_bytes: int) -> torch.Tensor:
        if dtype_id >= len(DTYPES):
            raise CheckpointError(f"{self.label}: variable {name} has unknown dtype id {dtype_id}.")
        dtype = DTYPES[dtype_id]
        numel = 1
        for dim in shape:
            numel *= dim
        if numel * dtype.itemsize != num_bytes:
            raise CheckpointError(
                f"{self.label}: variable {name} of shape {shape} and dtype {dtype} should take "
                f"{numel * dtype.itemsize} bytes, but the file says {num_bytes}."
            )
        if self.offset + num_bytes > len(self.data):
            raise struct.error("tensor runs past the end of the data")
        raw = bytearray(self.data[self.offset : self.offset + num_bytes])  # a writable copy the tensor owns
        self.offset += num_bytes
        if num_bytes == 0:
            return torch.zeros(shape, dtype=dtype)
        return torch.frombuffer(raw, dtype=dtype).reshape(shape)


# --- Whisper ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhisperTokens:
    """Token ids a Whisper model needs, read from its tokenizer's vocabulary."""

    end_of_text: int  # <|endoftext|>: end, padding and "bos"
    start_of_transcript: int  # <|startoftranscript|>: the decoder's first token
    transcribe: int
    translate: int
    start_of_prev: int  # <|startofprev|>: precedes a text prompt
    no_timestamps: int
    no_speech: int  # <|nospeech|> (called <|nocaptions|> in older vocabularies)
    languages: dict[str, int]  # "<|en|>" -> id, in the order of the CTranslate2 config's lang_ids


@dataclass(frozen=True)
class WhisperConversion:
    """A CTranslate2 Whisper model as transformers' pieces."""

    config: WhisperConfig
    state_dict: dict[str, torch.Tensor]  # keys of WhisperForConditionalGeneration, float32
    notes: dict[str, str] = field(default_factory=dict)  # CT2 variables not carried over, and why


def whisper_to_transformers(model: CT2Model, ct2_config: dict[str, Any], tokens: WhisperTokens) -> WhisperConversion:
    """Map every variable of a CTranslate2 ``WhisperSpec`` onto ``WhisperForConditionalGeneration``'s keys."""
    if model.spec != "WhisperSpec":
        raise CheckpointError(f"The CTranslate2 model is a {model.spec}, not a WhisperSpec.")
    take = _Variables(model)
    _check_decoder_settings(take)
    state: dict[str, torch.Tensor] = {}
    _encoder(take, state)
    _decoder(take, state)
    config = _whisper_config(take, state, ct2_config, tokens)
    leftover = take.unused()
    if leftover:
        raise CheckpointError(
            f"{len(leftover)} variable(s) of the CTranslate2 Whisper model have no place in transformers' "
            f"Whisper: {', '.join(leftover[:5])}. This converter does not know this model variant."
        )
    return WhisperConversion(config=config, state_dict=state, notes=take.notes)


def build_whisper(conversion: WhisperConversion) -> WhisperForConditionalGeneration:
    """A ``WhisperForConditionalGeneration`` holding the converted weights; every key must be filled."""
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(conversion.config)
    load_strict(model, conversion.state_dict, "converted Whisper (transformers' WhisperForConditionalGeneration)",
                assign=True)
    if conversion.config.tie_word_embeddings:
        model.tie_weights()
    empty = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if empty:
        raise CheckpointError(f"The converted Whisper model left {len(empty)} tensor(s) unset, e.g. {empty[:3]}.")
    return model.eval()


def whisper_tokens(tokenizer: Any, ct2_config: dict[str, Any]) -> WhisperTokens:
    """Look up Whisper's special tokens in ``tokenizer``'s vocabulary; language ids come from ``lang_ids``."""
    vocab = tokenizer.get_vocab()
    by_id = {i: t for t, i in vocab.items()}

    def find(*names: str) -> int:
        for name in names:
            if name in vocab:
                return vocab[name]
        raise CheckpointError(f"The Whisper tokenizer has no {' or '.join(names)} token.")

    lang_ids = ct2_config.get("lang_ids") or []
    languages = {by_id[i]: i for i in lang_ids if i in by_id}
    if len(languages) != len(lang_ids) or not all(re.fullmatch(r"<\|[a-z]{2,3}\|>", t) for t in languages):
        raise CheckpointError("The CTranslate2 config's lang_ids are not language tokens of this tokenizer.")
    return WhisperTokens(
        end_of_text=find("<|endoftext|>"),
        start_of_transcript=find("<|startoftranscript|>"),
        transcribe=find("<|transcribe|>"),
        translate=find("<|translate|>"),
        start_of_prev=find("<|startofprev|>"),
        no_timestamps=find("<|notimestamps|>"),
        no_speech=find("<|nospeech|>", "<|nocaptions|>"),
        languages=languages,
    )


def whisper_generation_config(
    config: WhisperConfig, ct2_config: dict[str, Any], tokens: WhisperTokens
) -> GenerationConfig:
    """The generation settings of OpenAI's multilingual Whisper, in the fields transformers' Whisper ``generate`` reads.

    Nothing is forced: no language, task or timestamp mode (callers pick them, e.g.
    ``generate(features, language="en", task="transcribe")``). Suppressed tokens are the
    CTranslate2 config's ``suppress_ids`` (OpenAI's non-speech symbols plus the task and
    prompt tokens) and, at the first step, ``suppress_ids_begin`` (a blank and the end token).
    """
    return GenerationConfig(
        decoder_start_token_id=tokens.start_of_transcript,
        bos_token_id=tokens.end_of_text,
        eos_token_id=tokens.end_of_text,
        pad_token_id=tokens.end_of_text,
        max_length=config.max_target_positions,  # 448 tokens of text context
        suppress_tokens=list(config.suppress_tokens or []),
        begin_suppress_tokens=list(config.begin_suppress_tokens or []),
        no_timestamps_token_id=tokens.no_timestamps,
        prev_sot_token_id=tokens.start_of_prev,
        is_multilingual=config.vocab_size >= MULTILINGUAL_VOCAB,
        lang_to_id=dict(tokens.languages),  # "<|en|>" -> 50259, ...: 99 languages for whisper-base
        task_to_id={"transcribe": tokens.transcribe, "translate": tokens.translate},
        alignment_heads=[list(h) for h in ct2_config.get("alignment_heads") or []],  # for word timestamps
        max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        return_timestamps=False,
    )


class _Variables:
    """The CT2 variables, handed out once each; remembers which were used."""

    def __init__(self, model: CT2Model) -> None:
        self.variables = model.variables
        self.aliases = model.aliases  # CTranslate2 also stores identical tensors once, under aliases
        self.used: set[str] = set()  # names asked for (variables or aliases) and variables reached through aliases
        self.notes: dict[str, str] = {}

    def resolve(self, name: str) -> str:
        """The stored variable a name refers to."""
        return self.aliases.get(name, name)

    def tensor(self, name: str) -> torch.Tensor:
        """A weight as float32, dequantised when the file stores it as int8/int16 with a scale."""
        self.used.add(name)
        name = self.resolve(name)
        if name not in self.variables:
            raise CheckpointError(f"The CTranslate2 Whisper model has no variable {name}.")
        self.used.add(name)
        value = self.variables[name]
        if name + "_zero" in self.variables:
            raise CheckpointError(f"{name} is stored as int4 with zero points (AWQ), which is not supported.")
        scale_name = name + "_scale"
        if scale_name in self.variables:  # CTranslate2 quantisation: stored = round(weight * scale), per row
            self.used.add(scale_name)
            scale = self.variables[scale_name].to(torch.float32)
            scale = scale.reshape(scale.shape + (1,) * (value.dim() - scale.dim()))
            return value.to(torch.float32) / scale
        return value.to(torch.float32)

    def scalar(self, name: str) -> int:
        """A scalar setting."""
        self.used.update((name, self.resolve(name)))
        return int(self.variables[self.resolve(name)].item())

    def ignore(self, name: str, why: str) -> None:
        """Mark a variable as consumed without a place in transformers, with the reason."""
        if name in self.variables:
            self.used.add(name)
            self.notes[name] = why

    def layers(self, prefix: str) -> int:
        """How many ``{prefix}/layer_N`` blocks the file holds."""
        names = [*self.variables, *self.aliases]
        found = {int(m.group(1)) for n in names if (m := re.match(re.escape(prefix) + r"/layer_(\d+)/", n))}
        if found != set(range(len(found))):
            raise CheckpointError(f"The {prefix} layers of the CTranslate2 model are not 0..N-1: {sorted(found)}.")
        return len(found)

    def unused(self) -> list[str]:
        return sorted((set(self.variables) | set(self.aliases)) - self.used)


# Scalar settings of CTranslate2's TransformerDecoderSpec and the value transformers' Whisper implies
_DECODER_SETTINGS = {
    "decoder/activation": (GELU, "GELU feed-forward activation"),
    "decoder/pre_norm": (1, "layer norm before each block"),
    "decoder/scale_embeddings": (0, "token embeddings not scaled by sqrt(d_model)"),
    "decoder/alibi": (0, "no ALiBi position bias"),
    "decoder/start_from_zero_embedding": (0, "no zero embedding at the first step"),
}


def _check_decoder_settings(take: _Variables) -> None:
    for name, (want, meaning) in _DECODER_SETTINGS.items():
        if name in take.variables and (value := take.scalar(name)) != want:
            raise CheckpointError(f"The CTranslate2 model sets {name}={value}; Whisper needs {want} ({meaning}).")
    take.ignore("decoder/alibi_use_positive_positions", "an ALiBi option; ALiBi is off")
    take.ignore("decoder/scale_alibi", "an ALiBi option; ALiBi is off")
    alignment = "word-timestamp alignment (the heads are in generation_config.alignment_heads)"
    take.ignore("decoder/alignment_heads", alignment)
    take.ignore("decoder/alignment_layer", alignment)


def _encoder(take: _Variables, state: dict[str, torch.Tensor]) -> None:
    for conv in ("conv1", "conv2"):
        _linear(take, f"encoder/{conv}", f"model.encoder.{conv}", state)
    state["model.encoder.embed_positions.weight"] = take.tensor("encoder/position_encodings/encodings")
    for i in range(take.layers("encoder")):
        _block(take, f"encoder/layer_{i}", f"model.encoder.layers.{i}", state, cross_attention=False)
    _norm(take, "encoder/layer_norm", "model.encoder.layer_norm", state)
    take.scalar("encoder/num_heads")  # read again by _whisper_config


def _decoder(take: _Variables, state: dict[str, torch.Tensor]) -> None:
    state["model.decoder.embed_tokens.weight"] = take.tensor("decoder/embeddings/weight")
    state["model.decoder.embed_positions.weight"] = take.tensor("decoder/position_encodings/encodings")
    for i in range(take.layers("decoder")):
        _block(take, f"decoder/layer_{i}", f"model.decoder.layers.{i}", state, cross_attention=True)
    _norm(take, "decoder/layer_norm", "model.decoder.layer_norm", state)
    state["proj_out.weight"] = take.tensor("decoder/projection/weight")  # an alias of the embeddings when tied
    take.scalar("decoder/num_heads")


def _block(take: _Variables, src: str, dst: str, state: dict[str, torch.Tensor], cross_attention: bool) -> None:
    """One pre-norm transformer layer: self-attention, (cross-attention), feed-forward."""
    _norm(take, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm", state)
    _fused(take, f"{src}/self_attention/linear_0", [f"{dst}.self_attn.{p}_proj" for p in "qkv"], state)
    _linear(take, f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj", state)
    if cross_attention:
        _norm(take, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm", state)
        _linear(take, f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj", state)
        _fused(take, f"{src}/attention/linear_1", [f"{dst}.encoder_attn.{p}_proj" for p in "kv"], state)
        _linear(take, f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj", state)
    _norm(take, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm", state)
    _linear(take, f"{src}/ffn/linear_0", f"{dst}.fc1", state)
    _linear(take, f"{src}/ffn/linear_1", f"{dst}.fc2", state)


def _linear(take: _Variables, src: str, dst: str, state: dict[str, torch.Tensor]) -> None:
    state[f"{dst}.weight"] = take.tensor(f"{src}/weight")
    state[f"{dst}.bias"] = take.tensor(f"{src}/bias")


def _norm(take: _Variables, src: str, dst: str, state: dict[str, torch.Tensor]) -> None:
    state[f"{dst}.weight"] = take.tensor(f"{src}/gamma")
    state[f"{dst}.bias"] = take.tensor(f"{src}/beta")


def _fused(take: _Variables, src: str, dsts: list[str], state: dict[str, torch.Tensor]) -> None:
    """Split a projection whose outputs stack several projections (q,k,v or k,v) along dim 0."""
    weights = take.tensor(f"{src}/weight").chunk(len(dsts), dim=0)
    biases = take.tensor(f"{src}/bias").chunk(len(dsts), dim=0)
    for dst, weight, bias in zip(dsts, weights, biases):
        state[f"{dst}.weight"] = weight.contiguous()
        if dst.endswith("k_proj"):
            # Whisper's keys have no bias. Even a non-zero one would not matter: it adds the same
            # amount q.b to every score of a query, which softmax ignores.
            take.notes[f"{src}/bias[key part]"] = f"Whisper has no key bias (max |value| {bias.abs().max().item():g})"
        else:
            state[f"{dst}.bias"] = bias.contiguous()


def _whisper_config(
    take: _Variables, state: dict[str, torch.Tensor], ct2_config: dict[str, Any], tokens: WhisperTokens
) -> WhisperConfig:
    """The architecture read off the tensors; special tokens from the vocabulary; suppression from config.json."""
    embed = state["model.decoder.embed_tokens.weight"]  # (vocab, d_model)
    conv1 = state["model.encoder.conv1.weight"]  # (d_model, mels, 3)
    tied = take.resolve("decoder/projection/weight") == take.resolve("decoder/embeddings/weight")
    return WhisperConfig(
        vocab_size=embed.shape[0],
        num_mel_bins=conv1.shape[1],
        d_model=conv1.shape[0],
        encoder_layers=take.layers("encoder"),
        decoder_layers=take.layers("decoder"),
        encoder_attention_heads=take.scalar("encoder/num_heads"),
        decoder_attention_heads=take.scalar("decoder/num_heads"),
        encoder_ffn_dim=state["model.encoder.layers.0.fc1.weight"].shape[0],
        decoder_ffn_dim=state["model.decoder.layers.0.fc1.weight"].shape[0],
        max_source_positions=state["model.encoder.embed_positions.weight"].shape[0],
        max_target_positions=state["model.decoder.embed_positions.weight"].shape[0],
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=tied,
        pad_token_id=tokens.end_of_text,
        bos_token_id=tokens.end_of_text,
        eos_token_id=tokens.end_of_text,
        decoder_start_token_id=tokens.start_of_transcript,
        suppress_tokens=list(ct2_config.get("suppress_ids") or []),
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin") or []),
    )

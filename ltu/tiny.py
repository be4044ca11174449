"""Tiny random models: an LTU that builds in a second, for ``--tiny`` smoke runs and the tests.

Sizes follow the project's test rule: widths of at least 64 and multiples of 32, so the same
models also work with bitsandbytes' CPU 4-bit kernel. Answers are gibberish; shapes, layouts
and code paths are real.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ltu.config import EncoderConfig, LTUConfig, PromptConfig, whisper_frontend

# A ChatML-like template: every message ends with EOS, as SmolLM2's and Qwen's do.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
_CORPUS = [
    "### Instruction:\nWhat is this sound?\n\n### Response:\nThe sound of a dog barking.",
    "### Instruction:\nIs someone speaking?\n\n### Input:\nhello there\n\n### Response:\nYes, a man is speaking.",
    "Describe the audio. A cat meows twice, then a door closes. Music plays softly in the background.",
    "<|system|>\n<|user|>\n<|assistant|>\nWhy might this happen? Where is it? How loud? Which language?",
    "bird chirping engine idling rain falling water splashing laughter applause siren horn",
]
TINY_WHISPER = dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128, decoder_layers=1,
                    decoder_attention_heads=4, decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=1500,
                    vocab_size=128, max_target_positions=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                    decoder_start_token_id=1, suppress_tokens=[], begin_suppress_tokens=[])


def make_tokenizer():
    """A byte-level BPE tokenizer with LLaMA's special ids (pad 0, bos 1, eos 2) and BOS prepended."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=480, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(_CORPUS * 4, trainer)
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tok.chat_template = CHAT_TEMPLATE
    return tok


def make_llm_folder(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random LLaMA (2 layers, width 64) and its tokenizer to ``folder``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_tokenizer()
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
                         initializer_range=0.1)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_config(llm: Path, encoder: str = "cavmae", **prompt: str) -> LTUConfig:
    """A tiny LTU config: width-64 encoder, the paper's layout unless ``prompt`` says otherwise."""
    if encoder == "cavmae":
        enc = EncoderConfig(embed_dim=64, depth=2, num_heads=4)
        return LTUConfig(llm=str(llm), encoder=enc, prompt=PromptConfig(**prompt), name="tiny")
    enc = EncoderConfig(kind="whisper", whisper=dict(TINY_WHISPER), trainable=False)
    return LTUConfig(llm=str(llm), frontend=whisper_frontend(max_seconds=70.0), encoder=enc,
                     prompt=PromptConfig(**prompt), name="tiny-whisper")

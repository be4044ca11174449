"""Device, dtype and quantisation choices; clear errors for what the machine cannot do."""

from __future__ import annotations

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.chat import ChatSession
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.decode_weights import HalfDecodeLinear, add_half_decode_copies
from ltu.errors import DeviceError
from ltu.generation import GenerationSettings
from ltu.runtime import Runtime

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")


@needs_no_cuda
def test_cuda_on_a_cpu_machine_is_a_clear_error():
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        Runtime(device="cuda").torch_device()


def test_unknown_dtype_and_quantization_are_errors():
    with pytest.raises(DeviceError, match="dtype"):
        Runtime(dtype="float8").torch_dtype()
    with pytest.raises(DeviceError, match="quantization"):
        Runtime(quantization="3bit").quantization_config()  # type: ignore[arg-type]


def test_auto_resolves_to_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert Runtime().torch_device().type == expected
    assert Runtime().torch_dtype() == (torch.bfloat16 if expected == "cuda" else torch.float32)


def test_half_decode_copies_only_for_auto_on_cpu_without_quantisation():
    assert Runtime(device="cpu").half_decode()
    assert Runtime(device="cpu").torch_dtype() == torch.float32
    assert not Runtime(device="cpu", dtype="float32").half_decode()
    assert not Runtime(device="cpu", dtype="bfloat16").half_decode()
    assert not Runtime(device="cpu", quantization="8bit").half_decode()


@pytest.fixture(scope="module")
def saved(tiny_llm, tmp_path_factory):
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(tiny_llm))
    randomize_lora(model)
    return save_pretrained(model, tmp_path_factory.mktemp("q") / "ckpt")


@pytest.mark.parametrize("bits", ["8bit", "4bit"])
def test_quantised_llm_answers(saved, bits):
    pytest.importorskip("bitsandbytes")
    model, processor = load_pretrained(saved, Runtime(device="cpu", quantization=bits))
    kinds = {type(m).__name__ for m in model.llm.modules()}
    assert ("Linear8bitLt" if bits == "8bit" else "Linear4bit") in kinds
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GenerationSettings.greedy_settings(6))
    session.answer("What is this sound?")
    assert 1 <= len(session.exchanges[0].answer_ids) <= 6


def test_bfloat16_on_cpu_runs_with_audio_cast_to_the_llm_dtype(saved):
    model, processor = load_pretrained(saved, Runtime(device="cpu", dtype="bfloat16"))
    assert model.audio_dtype == torch.bfloat16
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GenerationSettings.greedy_settings(4))
    session.answer("What is this sound?")
    assert session.exchanges[0].answer_ids


def test_cpu_4bit_with_unaligned_widths_is_a_clear_error(tmp_path):
    pytest.importorskip("bitsandbytes")
    from transformers import LlamaConfig, LlamaForCausalLM

    from conftest import make_tokenizer
    from ltu.runtime import load_llm

    tok = make_tokenizer()
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=100, num_hidden_layers=1,
                                 num_attention_heads=4)).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    with pytest.raises(DeviceError, match="divisible by 32"):
        load_llm(str(tmp_path), Runtime(device="cpu", quantization="4bit"))


def test_cpu_default_answers_with_float16_copies_and_trains_without_them(saved, monkeypatch):
    import ltu.decode_weights

    assert not [m for m in load_pretrained(saved)[0].llm.modules() if isinstance(m, HalfDecodeLinear)]  # too small
    monkeypatch.setattr(ltu.decode_weights, "MIN_WEIGHT_BYTES", 0)
    model, processor = load_pretrained(saved, Runtime(device="cpu"))
    halves = [m for m in model.llm.modules() if isinstance(m, HalfDecodeLinear)]
    assert halves and not [m for m in model.llm.modules() if type(m) is torch.nn.Linear]
    assert {p.dtype for p in model.llm.parameters()} == {torch.float32}
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GenerationSettings.greedy_settings(4))
    session.answer("What is this sound?")
    session.answer("And now?")  # a follow-up through the cache
    assert len(session.exchanges) == 2 and all(e.answer_ids for e in session.exchanges)
    trainable, _ = load_pretrained(saved, Runtime(device="cpu"), trainable=True)
    assert not [m for m in trainable.llm.modules() if isinstance(m, HalfDecodeLinear)]


def test_half_decode_copy_uses_float16_for_a_few_rows_and_float32_for_many():
    from ltu.decode_weights import MAX_HALF_ROWS

    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32)
    half = HalfDecodeLinear(linear)
    rows = torch.randn(MAX_HALF_ROWS + 1, 64)
    assert torch.equal(half(rows), linear(rows))  # many rows: the float32 weight itself
    for few in (rows[:1], rows[:MAX_HALF_ROWS], rows[:MAX_HALF_ROWS].unsqueeze(1)):  # one token of a few answers
        expected = torch.nn.functional.linear(few.half(), linear.weight.half()).float() + linear.bias
        assert torch.equal(half(few), expected) and not torch.equal(half(few), linear(few))
        assert (half(few) - linear(few)).abs().max() < 1e-2


def test_with_native_bfloat16_many_rows_use_a_bfloat16_copy_and_a_few_rows_still_float16():
    from ltu.decode_weights import MAX_HALF_ROWS

    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32)
    mixed = HalfDecodeLinear(linear, many_rows_bf16=True)
    assert HalfDecodeLinear(linear).bf16_weight is None
    many = torch.randn(3, MAX_HALF_ROWS + 1, 64)  # a prompt, or a large batch's rows
    expected = torch.nn.functional.linear(many.bfloat16(), linear.weight.bfloat16()).float() + linear.bias
    assert torch.equal(mixed(many), expected) and not torch.equal(mixed(many), linear(many))
    assert (mixed(many) - linear(many)).abs().max() < 5e-2
    few = many[0, :MAX_HALF_ROWS]
    assert torch.equal(mixed(few), HalfDecodeLinear(linear)(few))  # a few rows: the float16 copy, as before


def test_the_bfloat16_copy_follows_the_cpu_and_the_size_limit(monkeypatch):
    import ltu.decode_weights

    def copies(**kwargs):
        llm = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 8))  # 18,432 bytes of float32
        assert add_half_decode_copies(llm, min_weight_bytes=0, **kwargs) == 2
        return [m.bf16_weight is not None for m in llm]

    monkeypatch.setattr(ltu.decode_weights, "native_bfloat16", lambda: True)
    assert copies() == [True, True]
    assert copies(max_bytes=10_000) == [False, False]  # float16 copies fit (9,216 bytes), both together do not
    assert copies(many_rows_bf16=False) == [False, False]
    monkeypatch.setattr(ltu.decode_weights, "native_bfloat16", lambda: False)
    assert copies() == [False, False]
    assert copies(many_rows_bf16=True) == [True, True]


def test_half_decode_copies_are_skipped_outside_the_size_limits():
    llm = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 8))  # 18,432 bytes of float32 weights
    assert add_half_decode_copies(llm) == 0  # under MIN_WEIGHT_BYTES: cached, nothing to gain
    assert add_half_decode_copies(llm, min_weight_bytes=0, max_bytes=100) == 0
    assert all(type(m) is torch.nn.Linear for m in llm)
    assert add_half_decode_copies(llm, min_weight_bytes=0) == 2
    assert all(isinstance(m, HalfDecodeLinear) for m in llm)

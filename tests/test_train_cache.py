"""train.cache: the source-balanced clip order and the training subset built from it."""

from __future__ import annotations

import json
from collections import Counter

from train.cache import clip_order, subset_rows
from train.ltu_small import stage_rows


def _rows(counts: dict[str, int], per_clip: int = 2) -> list[dict]:
    return [{"instruction": f"q{k}", "audio_id": f"audio/{source}-{i}.wav", "dataset": source, "output": "a",
             "task": "closed" if k == 0 else "open"}
            for source, n in counts.items() for i in range(n) for k in range(per_clip)]


def test_order_takes_sources_in_turn_and_lists_each_clip_once():
    rows = _rows({"big": 50, "mid": 10, "small": 2})
    order = clip_order(rows)
    assert sorted(order) == sorted({r["audio_id"] for r in rows})
    first = Counter(clip.split("/")[1].split("-")[0] for clip in order[:12])
    assert first == {"big": 5, "mid": 5, "small": 2}  # the small source is used up, the others share evenly
    assert clip_order(rows) == order and clip_order(rows, seed=1) != order  # seeded


def test_subset_keeps_every_row_of_the_chosen_clips():
    rows = _rows({"a": 20, "b": 20})
    chosen = subset_rows(rows, 6)
    clips = {r["audio_id"] for r in chosen}
    assert len(clips) == 6 and len(chosen) == 12
    assert Counter(c.split("/")[1][0] for c in clips) == {"a": 3, "b": 3}
    assert subset_rows(rows, 0) == rows


def test_both_stages_train_on_the_same_clips(tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    rows = _rows({"a": 30, "b": 30})
    (data / "train.json").write_text(json.dumps(rows))
    (data / "train_closed.json").write_text(json.dumps([r for r in rows if r["task"] == "closed"]))
    stage1 = json.loads(stage_rows("stage1", runs, data, 10).read_text())
    stage2 = json.loads(stage_rows("stage2", runs, data, 10).read_text())
    assert len(stage2) == 20 and len(stage1) == 10
    assert {r["audio_id"] for r in stage1} == {r["audio_id"] for r in stage2}
    assert stage_rows("stage2", runs, data, 0) == data / "train.json"


class CountingTranscriber:
    """Stands in for Whisper: a fixed key, and a count of how often it had to listen."""

    cache_key = "counting-transcriber-1"

    def __init__(self) -> None:
        self.calls = 0

    def heard(self, samples) -> str:
        self.calls += 1
        return f"{len(samples)} samples heard"


def _cache(root, config, transcriber):
    import torch

    from ltu.checkpoint import build_model
    from ltu.runtime import Runtime
    from train.data import FeatureCache

    torch.manual_seed(0)  # the same random encoder each time, so the same settings find the same folder
    model, processor = build_model(config, Runtime(device="cpu", dtype="float32"), trainable=True)
    return FeatureCache(root, model, processor, frozen_encoder=True, transcriber=transcriber)


def _clip_and_config(tiny_llm, folder):
    """A 1 s sine clip written into ``folder``, and a tiny Whisper-encoder config."""
    import soundfile

    from conftest import sine
    from ltu.tiny import tiny_config

    wav = folder / "clip.wav"
    soundfile.write(wav, sine(1.0), 16_000)
    return wav, tiny_config(tiny_llm, encoder="whisper")


def test_transcripts_outlive_a_change_of_encoder_layer(tiny_llm, tmp_path):
    from dataclasses import replace

    import torch

    wav, config = _clip_and_config(tiny_llm, tmp_path)
    listener = CountingTranscriber()
    first = _cache(tmp_path / "cache", config, listener)
    clip = first.get(wav)
    assert clip.transcript == "16000 samples heard" and listener.calls == 1
    assert first.get(wav).transcript == clip.transcript and listener.calls == 1  # read back, not heard again

    layered = replace(config, encoder=replace(config.encoder, hidden_layer=1))
    second = _cache(tmp_path / "cache", layered, listener)
    again = second.get(wav)
    assert second.folder != first.folder and second.computed == 1  # new encoder tokens ...
    assert again.transcript == clip.transcript and listener.calls == 1  # ... but the same transcript, not recomputed
    assert not torch.equal(again.encoded, clip.encoded)


def test_entries_that_hold_their_transcript_share_it(tiny_llm, tmp_path):
    import torch

    wav, config = _clip_and_config(tiny_llm, tmp_path)
    cache = _cache(tmp_path / "cache", config, CountingTranscriber())
    cache.get(wav)
    # rewrite the entry as caches did before transcripts were kept apart
    (entry,) = cache.folder.glob("*.pt")
    stored = torch.load(entry, weights_only=True)
    torch.save({**stored, "transcript": "an older transcript"}, entry)
    for kept in cache.transcripts.glob("*.txt"):
        kept.unlink()
    listener = CountingTranscriber()
    reread = _cache(tmp_path / "cache", config, listener)
    assert reread.get(wav).transcript == "an older transcript" and listener.calls == 0
    assert [p.read_text() for p in reread.transcripts.glob("*.txt")] == ["an older transcript"]


def test_stored_transcripts_are_heard_once_per_distinct_samples(tmp_path):
    import numpy as np

    from train.data import StoredTranscriber

    listener = CountingTranscriber()
    stored = StoredTranscriber(listener, tmp_path)
    one, other = np.zeros(1600, dtype=np.float32), np.ones(800, dtype=np.float32) * 0.1
    assert stored.heard(one) == "1600 samples heard" and listener.calls == 1
    assert stored.heard(one.copy()) == "1600 samples heard" and listener.calls == 1  # same samples: read back
    assert stored.heard(other) == "800 samples heard" and listener.calls == 2
    again = StoredTranscriber(listener, tmp_path)  # a later run finds them on disk
    assert again.heard(other) == "800 samples heard" and listener.calls == 2 and again.computed == 0

    class OtherGate(CountingTranscriber):
        cache_key = "counting-transcriber-2"

    assert StoredTranscriber(OtherGate(), tmp_path).folder != stored.folder  # other settings never share


def test_the_features_folder_does_not_depend_on_the_transcriber(tiny_llm, tmp_path):
    import shutil

    from train.data import _settings_digests

    wav, config = _clip_and_config(tiny_llm, tmp_path)
    first = _cache(tmp_path / "cache", config, CountingTranscriber())
    first.get(wav)

    class OtherGate(CountingTranscriber):
        cache_key = "counting-transcriber-2"

    other = _cache(tmp_path / "cache", config, OtherGate())
    assert other.folder == first.folder and other.transcripts != first.transcripts
    assert other.get(wav).transcript == "16000 samples heard" and other.computed == 0  # tokens reused, text heard anew

    # a cache made when the folder was keyed by the transcriber too is found, not recomputed
    settings = {"frontend": first.model.config.frontend.__dict__, "frozen": True,
                "encoder": dict(first.model.config.encoder.__dict__), "transcript": OtherGate.cache_key}
    for later in ("hidden_layer", "summary_layer", "window_summary", "class_hint"):  # options newer than such caches
        settings["encoder"].pop(later, None)
    (name,) = _settings_digests([settings], first.model.encoder.state_dict().values())
    legacy = tmp_path / "old" / name
    shutil.copytree(first.folder, legacy)
    found = _cache(tmp_path / "old", config, OtherGate())
    assert found.folder == legacy
    found.get(wav)
    assert found.computed == 0


def test_augmented_copies_are_cached_apart_and_keep_the_clips_transcript(tiny_llm, tmp_path):
    import torch

    wav, config = _clip_and_config(tiny_llm, tmp_path)
    listener = CountingTranscriber()
    cache = _cache(tmp_path / "cache", config, listener)
    clip, copies = cache.get(wav), [cache.get(wav, copy) for copy in (1, 2)]
    assert listener.calls == 1 and all(c.transcript == clip.transcript for c in copies)  # heard once, shared
    assert not torch.equal(copies[0].encoded, clip.encoded) and not torch.equal(copies[0].encoded, copies[1].encoded)
    assert len(list(cache.folder.glob("*.pt"))) == 3 and cache.computed == 3
    again = _cache(tmp_path / "cache", config, listener)
    assert torch.equal(again.get(wav, 1).encoded, copies[0].encoded) and again.computed == 0  # read back


def test_each_row_reads_the_clip_or_one_copy_spread_evenly():
    from train.data import row_copy

    assert {row_copy(i, 0) for i in range(50)} == {0}
    picks = Counter(row_copy(i, 2) for i in range(3000))
    assert set(picks) == {0, 1, 2} and min(picks.values()) > 900  # about a third each
    assert [row_copy(i, 2) for i in range(20)] == [row_copy(i, 2) for i in range(20)]  # the same on every run

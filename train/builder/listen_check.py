"""Listen-check a built dataset with Whisper: does each source's speech label agree with what is heard?

    python -m train.builder.listen_check --data data/ltu-small [--per-source 4] [--out check.json]

For a fixed sample of single-recording clips of every source it runs the project's
transcriber (Whisper base) and prints the source, the label, Whisper's speech verdict and
language, its text and the reference text. Speech clips where Whisper hears nothing, and
non-speech clips where it hears words, are the ones to look at (they are counted at the
end). This is a check on the labels, not part of the build.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from ltu.audio.decode import load_audio


def sample_clips(data: Path, per_source: int, seed: int = 0) -> list[tuple[str, dict]]:
    """``per_source`` single-recording clips of every source (fixed random choice)."""
    clips = json.loads((data / "metadata.json").read_text())["clips"]
    by_source: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for audio_id, clip in sorted(clips.items()):
        if len(clip["sources"]) == 1 and clip["labels"]["category"] != "Silence":
            by_source[clip["dataset"]].append((audio_id, clip))
    rng = random.Random(seed)
    return [c for _, group in sorted(by_source.items()) for c in rng.sample(group, min(per_source, len(group)))]


def main(argv: list[str] | None = None) -> int:
    """Transcribe the sample and print one line per clip, then the disagreements per source."""
    from ltu.transcribe import Transcriber

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/ltu-small"))
    parser.add_argument("--per-source", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    transcriber = Transcriber.from_source()
    results, disagree = [], defaultdict(int)
    for audio_id, clip in sample_clips(args.data, args.per_source):
        labels = clip["labels"]
        heard = transcriber.transcribe(load_audio(args.data / audio_id).samples)
        agrees = heard.has_speech == labels["is_speech"]
        if not agrees:
            disagree[clip["dataset"]] += 1
        results.append({"audio_id": audio_id, "source": clip["dataset"], "label": labels["fine_label"],
                        "is_speech": labels["is_speech"], "whisper_speech": heard.has_speech,
                        "whisper_language": heard.language, "whisper_text": heard.text,
                        "reference": labels["transcript"]})
        print(f"{'  ' if agrees else '!!'} {clip['dataset']:<16} {labels['fine_label'][:28]:<28} "
              f"speech={labels['is_speech']!s:<5} whisper={heard.has_speech!s:<5} {heard.language} "
              f"| {heard.text[:60]!r} | ref {str(labels['transcript'])[:40]!r}", flush=True)
    print("disagreements per source:", dict(disagree) or "none")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Decoding files and arrays: formats, channels, scaling, truncation and every user error."""

from __future__ import annotations

import struct
import wave
import zipfile
import zlib
from pathlib import Path

import av
import numpy as np
import pytest

from ltu.audio.decode import Audio, audio_from_array, load_audio
from ltu.config import FrontEndConfig
from ltu.errors import AudioDecodeError, AudioTooLargeError, EmptyAudioError, InvalidAudioError

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# The test signal: 2 s of stereo at 48 kHz, a different tone in each channel, so the
# decoded tone tells which channel was kept.
RATE = 48_000
SECONDS = 2.0
LEFT_HZ, LEFT_AMP = 440.0, 0.5
RIGHT_HZ, RIGHT_AMP = 1000.0, 0.25


def stereo_tone(seconds: float = SECONDS, rate: int = RATE) -> np.ndarray:
    """(2, n) float32: LEFT_HZ in channel 0, RIGHT_HZ in channel 1."""
    t = np.arange(int(seconds * rate)) / rate
    left = LEFT_AMP * np.sin(2 * np.pi * LEFT_HZ * t)
    right = RIGHT_AMP * np.sin(2 * np.pi * RIGHT_HZ * t)
    return np.stack([left, right]).astype(np.float32)


def encode(path: Path, container: str, codec: str, signal: np.ndarray, rate: int = RATE, **options: str) -> Path:
    """Write (C, n) float32 audio with one of PyAV's encoders."""
    layout = "mono" if signal.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.codec_context.options = options
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(signal), format="fltp", layout=layout)
        frame.sample_rate = rate
        converter = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate)
        for converted in converter.resample(frame) + converter.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return path


def peak_hz(samples: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def band_rms(samples: np.ndarray, rate: int, hz: float, width: float = 20.0) -> float:
    """RMS of the part of the signal within width Hz of hz (Parseval on the rFFT)."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = np.abs(freqs - hz) < width
    return float(np.sqrt(2 * np.sum(np.abs(spectrum[band]) ** 2)) / len(samples))


def middle(audio: Audio) -> np.ndarray:
    """The central part of a clip, away from codec start-up and tail effects."""
    n = len(audio.samples)
    return audio.samples[n // 4 : 3 * n // 4]


def assert_sentence(err: pytest.ExceptionInfo) -> None:
    """A message for a person: one sentence, no codec dump."""
    message = str(err.value)
    assert message[0].isupper() and message.endswith("."), message
    assert "\n" not in message and len(message) < 200, message
    for codec_words in ("Errno", "avcodec", "av.error", "Traceback", "<none>"):
        assert codec_words not in message, message


# (file name, container, codec, encoder options, lossless)
FORMATS = [
    ("u8.wav", "wav", "pcm_u8", {}, True),
    ("s16.wav", "wav", "pcm_s16le", {}, True),
    ("s24.wav", "wav", "pcm_s24le", {}, True),
    ("s32.wav", "wav", "pcm_s32le", {}, True),
    ("f32.wav", "wav", "pcm_f32le", {}, True),
    ("tone.mp3", "mp3", "libmp3lame", {}, False),
    ("tone.flac", "flac", "flac", {}, True),
    # libvorbis is not in PyAV's FFmpeg; FFmpeg's own (experimental) vorbis encoder is.
    ("vorbis.ogg", "ogg", "vorbis", {"strict": "experimental"}, False),
    ("opus.ogg", "ogg", "libopus", {}, False),
    ("opus.webm", "webm", "libopus", {}, False),
    ("aac.m4a", "mp4", "aac", {}, False),
]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every format of FORMATS, written once for the module."""
    folder = tmp_path_factory.mktemp("encoded")
    signal = stereo_tone()
    return {name: encode(folder / name, box, codec, signal, **opts) for name, box, codec, opts, _ in FORMATS}


@pytest.mark.parametrize(("name", "lossless"), [(f[0], f[4]) for f in FORMATS])
def test_formats_decode_to_the_first_channel_at_16k(encoded: dict[str, Path], name: str, lossless: bool) -> None:
    audio = load_audio(encoded[name])
    assert audio.sample_rate == 16_000 and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.seconds == pytest.approx(SECONDS, abs=0.05)  # aac adds ~21 ms of priming
    assert audio.info.source_sample_rate == RATE and audio.info.source_channels == 2
    assert audio.info.resampled and not audio.info.truncated
    assert audio.info.channel == "first of 2 channels"
    assert "kept the first of 2 channels" in audio.info.describe()

    part = middle(audio)
    assert peak_hz(part, 16_000) == pytest.approx(LEFT_HZ, abs=2.0)
    # Integer formats are scaled so the tone keeps its amplitude (8-bit: 1/128 steps).
    tolerance = 0.02 if lossless else 0.1
    assert band_rms(part, 16_000, LEFT_HZ) == pytest.approx(LEFT_AMP / np.sqrt(2), rel=tolerance)
    assert band_rms(part, 16_000, RIGHT_HZ) < 0.01  # the second channel is not mixed in


def test_format_names(encoded: dict[str, Path]) -> None:
    assert load_audio(encoded["s16.wav"]).info.format == "wav (pcm_s16le)"
    assert load_audio(encoded["tone.mp3"]).info.format == "mp3"
    assert load_audio(encoded["opus.webm"]).info.format == "webm (opus)"
    assert load_audio(encoded["aac.m4a"]).info.format == "m4a (aac)"


def test_mean_channel(encoded: dict[str, Path]) -> None:
    audio = load_audio(encoded["s16.wav"], FrontEndConfig(channel="mean"))
    part = middle(audio)
    assert audio.info.channel == "mean of 2 channels"
    assert band_rms(part, 16_000, LEFT_HZ) == pytest.approx(LEFT_AMP / 2 / np.sqrt(2), rel=0.02)
    assert band_rms(part, 16_000, RIGHT_HZ) == pytest.approx(RIGHT_AMP / 2 / np.sqrt(2), rel=0.02)


def test_bytes_decode_like_the_file(encoded: dict[str, Path]) -> None:
    for name in ("s16.wav", "opus.webm"):
        from_path = load_audio(encoded[name])
        from_bytes = load_audio(encoded[name].read_bytes())
        np.testing.assert_array_equal(from_path.samples, from_bytes.samples)


def test_16k_mono_file_is_passed_through(tmp_path: Path) -> None:
    signal = stereo_tone(rate=16_000)[:1]
    audio = load_audio(encode(tmp_path / "mono.wav", "wav", "pcm_f32le", signal, rate=16_000))
    assert not audio.info.resampled and audio.info.channel == "mono"
    np.testing.assert_array_equal(audio.samples, signal[0])
    assert audio.info.describe() == "2.00 s, 16000 Hz mono wav (pcm_f32le)"


# (file, source rate, channels, seconds) as assets/README.md lists them
ASSET_CLIPS = [
    ("cat.mp3", 48_000, 1, 3.05),
    ("duck.mp3", 44_100, 2, 6.0),
    ("rooster.mp3", 44_100, 2, 2.35),
    ("sheep.mp3", 48_000, 1, 0.92),
]


@pytest.mark.parametrize(("name", "rate", "channels", "seconds"), ASSET_CLIPS)
def test_real_recordings(name: str, rate: int, channels: int, seconds: float) -> None:
    audio = load_audio(ASSETS / name)
    info = audio.info
    assert (info.source_sample_rate, info.source_channels, info.format) == (rate, channels, "mp3")
    assert info.source_seconds == pytest.approx(seconds, abs=0.03)
    assert audio.seconds == pytest.approx(info.source_seconds, abs=1e-3)
    assert audio.sample_rate == 16_000 and audio.samples.dtype == np.float32
    assert np.isfinite(audio.samples).all() and 0.1 < np.abs(audio.samples).max() < 1.5
    assert info.describe().startswith(f"{info.source_seconds:.2f} s, {rate} Hz ")


def test_truncation_at_max_seconds(tmp_path: Path) -> None:
    path = encode(tmp_path / "long.wav", "wav", "pcm_s16le", stereo_tone(seconds=5.0))
    audio = load_audio(path, FrontEndConfig(max_seconds=2.0))
    assert audio.info.truncated and len(audio.samples) == 32_000 and audio.info.seconds == 2.0
    assert audio.info.source_seconds == pytest.approx(5.0)
    assert "truncated from 5.0 s to the first 2.0 s" in audio.info.describe()
    full = load_audio(path)
    np.testing.assert_allclose(audio.samples[:30_000], full.samples[:30_000], atol=1e-4)  # resampler edge aside


def test_truncation_of_a_real_clip_and_a_webm_recording(encoded: dict[str, Path]) -> None:
    duck = load_audio(ASSETS / "duck.mp3", FrontEndConfig(max_seconds=2.5))
    assert duck.info.truncated and duck.seconds == 2.5 and duck.info.source_seconds == pytest.approx(6.0, abs=0.03)
    assert "truncated from 6.0 s to the first 2.5 s" in duck.info.describe()
    webm = load_audio(encoded["opus.webm"], FrontEndConfig(max_seconds=1.0))
    assert webm.info.truncated and webm.seconds == 1.0 and webm.info.source_seconds == pytest.approx(2.0, abs=0.03)


def test_short_clip_is_fine(tmp_path: Path) -> None:
    audio = load_audio(encode(tmp_path / "short.wav", "wav", "pcm_s16le", stereo_tone(seconds=0.01)))
    assert len(audio.samples) == 160


# ----- arrays (microphone widgets)


def test_array_int16_stereo_keeps_first_channel() -> None:
    ints = np.round(stereo_tone(rate=44_100).T * 32767).astype(np.int16)  # (n, 2), Gradio's layout
    audio = audio_from_array(ints, 44_100)
    assert audio.info.format == "array" and audio.info.channel == "first of 2 channels" and audio.info.resampled
    assert audio.info.source_sample_rate == 44_100 and audio.seconds == pytest.approx(SECONDS, abs=1e-3)
    part = middle(audio)
    assert peak_hz(part, 16_000) == pytest.approx(LEFT_HZ, abs=2.0)
    assert band_rms(part, 16_000, LEFT_HZ) == pytest.approx(LEFT_AMP / np.sqrt(2), rel=0.01)
    assert band_rms(part, 16_000, RIGHT_HZ) < 0.01


@pytest.mark.parametrize(
    ("dtype", "full_scale", "offset"),
    [(np.uint8, 128, 128), (np.int16, 2**15, 0), (np.int32, 2**31, 0), (np.float32, 1, 0), (np.float64, 1, 0)],
)
def test_array_dtypes_are_scaled(dtype: type, full_scale: int, offset: int) -> None:
    tone = stereo_tone(rate=16_000)[0]
    array = (tone * (full_scale - 1) + offset).astype(dtype) if full_scale > 1 else tone.astype(dtype)
    audio = audio_from_array(array, 16_000)
    assert not audio.info.resampled and audio.info.channel == "mono"
    np.testing.assert_allclose(audio.samples, tone, atol=1.5 / full_scale if full_scale > 1 else 1e-7)


def test_array_and_file_share_one_resampler(encoded: dict[str, Path]) -> None:
    with av.open(str(encoded["s16.wav"])) as container:  # the file's int16 samples, (n, 2)
        ints = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in container.decode(audio=0)])
    assert ints.dtype == np.int16 and ints.shape == (int(SECONDS * RATE), 2)
    np.testing.assert_array_equal(audio_from_array(ints, RATE).samples, load_audio(encoded["s16.wav"]).samples)


def test_array_truncation() -> None:
    audio = audio_from_array(np.zeros(16_000 * 3, np.float32), 16_000, FrontEndConfig(max_seconds=1.0))
    assert audio.info.truncated and len(audio.samples) == 16_000 and audio.info.source_seconds == 3.0


@pytest.mark.parametrize(
    ("array", "rate", "error"),
    [
        (np.zeros(0, np.float32), 16_000, EmptyAudioError),
        (np.zeros((0, 2), np.int16), 16_000, EmptyAudioError),
        (np.array([0.0, np.nan, 0.0], np.float32), 16_000, InvalidAudioError),
        (np.array([0.0, np.inf], np.float64), 16_000, InvalidAudioError),
        (np.zeros((2, 48_000), np.float32), 48_000, InvalidAudioError),  # channels-first
        (np.zeros((2, 3, 4), np.float32), 16_000, InvalidAudioError),
        (np.zeros(100, np.complex64), 16_000, InvalidAudioError),
        (np.zeros(100, np.float32), 0, InvalidAudioError),
    ],
)
def test_array_errors(array: np.ndarray, rate: int, error: type[Exception]) -> None:
    with pytest.raises(error) as err:
        audio_from_array(array, rate)
    assert_sentence(err)


# ----- files a user can get wrong


def png_bytes() -> bytes:
    """A valid 4x4 red PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def video_without_audio(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    return path


def header_only_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(b"")
    return path


def cut(path: Path, fraction: float, out: Path) -> Path:
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="does not exist") as err:
        load_audio(tmp_path / "nowhere.wav")
    assert_sentence(err)


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError) as err:
        load_audio(tmp_path)
    assert_sentence(err)


@pytest.mark.parametrize("source", ["file", "bytes"])
def test_empty_input(tmp_path: Path, source: str) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudioError) as err:
        load_audio(empty if source == "file" else b"")
    assert_sentence(err)


def test_zero_samples(tmp_path: Path) -> None:
    with pytest.raises(EmptyAudioError) as err:
        load_audio(header_only_wav(tmp_path / "header.wav"))
    assert_sentence(err)


def test_nan_samples(tmp_path: Path) -> None:
    signal = stereo_tone(seconds=0.5)
    signal[0, 1000] = np.nan
    with pytest.raises(InvalidAudioError) as err:
        load_audio(encode(tmp_path / "nan.wav", "wav", "pcm_f32le", signal))
    assert_sentence(err)


@pytest.mark.parametrize("kind", ["text", "png", "zip", "random", "video"])
def test_not_audio(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"thing.{kind}"
    if kind == "text":
        path.write_text("This is a note, not a recording.\n" * 20)
    elif kind == "png":
        path.write_bytes(png_bytes())
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.txt", "hello " * 100)
    elif kind == "random":  # an unknown container
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    else:
        video_without_audio(tmp_path / "thing.mp4").rename(path)
    with pytest.raises(AudioDecodeError) as err:
        load_audio(path)
    assert_sentence(err)


@pytest.mark.parametrize(("name", "fraction"), [("tone.flac", 0.5), ("aac.m4a", 0.5), ("s16.wav", 0.0002)])
def test_damaged_files(encoded: dict[str, Path], tmp_path: Path, name: str, fraction: float) -> None:
    """FFmpeg fails on these (flac mid-stream, m4a and a 40-byte wav at open): refused."""
    with pytest.raises(AudioDecodeError) as err:
        load_audio(cut(encoded[name], fraction, tmp_path / name))
    assert_sentence(err)


@pytest.mark.parametrize("name", ["s16.wav", "tone.mp3", "opus.webm"])
def test_file_cut_in_half_without_a_decoder_error_is_kept(encoded: dict[str, Path], tmp_path: Path, name: str) -> None:
    """Documented choice: a clean early end is a shorter recording, not an error."""
    audio = load_audio(cut(encoded[name], 0.5, tmp_path / name))
    assert audio.seconds == pytest.approx(SECONDS / 2, abs=0.1)


@pytest.mark.parametrize("source", ["file", "bytes"])
def test_too_large(encoded: dict[str, Path], source: str) -> None:
    path = encoded["s16.wav"]
    with pytest.raises(AudioTooLargeError) as err:
        load_audio(path if source == "file" else path.read_bytes(), FrontEndConfig(max_bytes=100_000))
    assert_sentence(err)

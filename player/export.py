"""Stage 5b: export a timeline to an audio file, with tags, chapters and captions.

The audio is streamed to the encoder (libsndfile, through soundfile: WAV, FLAC, Ogg Vorbis and
MP3 alike, no ffmpeg needed), so memory stays flat in session length. Every file is written
beside its target and renamed into place only when complete: a failed export leaves no half
file, and an existing file at that path stays intact until the new one is whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile

from player.ambience import Ambience
from player.atomic import disk_is_full, replacing, write_failure
from player.audio import timeline_chunks
from player.cache import VoicedCache
from player.captions import caption_cues, caption_format, render_captions, timestamp
from player.errors import ExportError
from player.timeline import SAMPLE_RATE, Timeline, seconds_to_samples

# suffix: (libsndfile format, subtype)
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
ARTIST = "guided"
ALBUM = "Guided sessions"
GENRE = "Spoken word"
EXPORT_CHUNK_FRAMES = 1 << 16  # about 3 s a write: few calls into libsndfile, and memory stays flat


@dataclass(frozen=True)
class ExportResult:
    path: Path
    duration_s: float
    bytes: int


@dataclass(frozen=True)
class Chapter:
    start_s: float
    end_s: float
    title: str


def chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per section, from its start to the next section's (or the end)."""
    sections = [e for e in timeline.events if e.kind == "section"]
    ends = [s.start_s for s in sections[1:]] + [timeline.duration_s]
    return [Chapter(s.start_s, end, s.text) for s, end in zip(sections, ends) if end > s.start_s]


def check_target(target: Path, kinds: tuple[str, ...] = tuple(FORMATS), what: str = "export") -> None:
    """Refuse, before any work is done, a target that cannot be written."""
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name, e.g. {target / 'session'}{kinds[0]}")
    if target.suffix.lower() not in kinds:
        raise ExportError(
            f"cannot {what} to '{target.suffix or target.name}': supported formats are {', '.join(kinds)}"
        )
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"cannot write to {folder}: permission denied")


@contextlib.contextmanager
def writing(target: Path) -> Iterator[Path]:
    """atomic.replacing for an export: what goes wrong is one line naming the file."""
    try:
        with replacing(target) as temp:
            yield temp
    except OSError as exc:
        raise ExportError(write_failure(exc, target)) from None


def export_session(
    timeline: Timeline,
    voiced: VoicedCache,
    target: Path,
    progress: Callable[[int], None] = lambda n: None,
    captions: Path | None = None,
    ambience: Ambience | None = None,
) -> ExportResult:
    """Write the timeline in the format its suffix names, tagged and with chapters; and, with
    `captions`, a .vtt or .srt file beside it."""
    target = Path(target)
    check_target(target)
    if captions is not None:
        check_captions_target(Path(captions))
    format_, subtype = FORMATS[target.suffix.lower()]
    session = timeline.session
    with writing(target) as temp:
        try:
            with soundfile.SoundFile(temp, "w", SAMPLE_RATE, 1, subtype, format=format_) as sound:
                if format_ == "WAV":  # RIFF INFO; the other formats are tagged below
                    sound.title, sound.artist, sound.album = session.title, ARTIST, ALBUM
                    sound.genre, sound.comment = GENRE, session.summary
                for _, _, samples in timeline_chunks(timeline, voiced, EXPORT_CHUNK_FRAMES, ambience):
                    sound.write(samples)
                    progress(samples.size)
        except (soundfile.LibsndfileError, RuntimeError) as exc:  # libsndfile's errors carry no errno
            # Judged now, while the partial file still holds the space it took: the export itself
            # is what usually filled the disk.
            raise OSError(errno.ENOSPC if disk_is_full(target.parent) else errno.EIO, str(exc)) from None
        if format_ == "MP3":
            _tag_mp3(temp, timeline)
        elif format_ in ("OGG", "FLAC"):
            _tag_vorbis(temp, timeline)
    if captions is not None:
        write_captions(timeline, voiced, Path(captions))
    return ExportResult(target, timeline.duration_s, target.stat().st_size)


def check_captions_target(path: Path) -> None:
    caption_format(path)
    check_target(path, kinds=(path.suffix.lower(),), what="write captions")


def write_captions(timeline: Timeline, voiced: VoicedCache, path: Path) -> None:
    write_text(path, render_captions(caption_cues(timeline, voiced), caption_format(path)))


def _tag_mp3(path: Path, timeline: Timeline) -> None:
    """ID3v2.4: title, artist, album, genre, the summary as comment, and CHAP/CTOC chapters."""
    from mutagen.id3 import CHAP, COMM, CTOC, ID3, TALB, TCON, TIT2, TPE1, CTOCFlags

    session = timeline.session
    tags = ID3()
    tags.add(TIT2(encoding=3, text=session.title))
    tags.add(TPE1(encoding=3, text=ARTIST))
    tags.add(TALB(encoding=3, text=ALBUM))
    tags.add(TCON(encoding=3, text=GENRE))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=session.summary))
    marks = chapters(timeline)
    ids = chapter_ids([chapter.title for chapter in marks])
    for element_id, chapter in zip(ids, marks):
        tags.add(CHAP(element_id=element_id, start_time=round(chapter.start_s * 1000),
                      end_time=round(chapter.end_s * 1000), sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    if ids:
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                      sub_frames=[TIT2(encoding=3, text=session.title)]))
    tags.save(path, v2_version=4)


def chapter_ids(titles: list[str]) -> list[str]:
    """CHAP element ids that make mutagen write the chapters in time order.

    mutagen orders frames by size (then id), and players and ffprobe read CHAP frames in file
    order. Every CHAP frame here holds its id and one UTF-8 title, so its size is a constant
    plus those two lengths: each id is padded just enough that each frame is one byte larger
    than the one before."""
    ids, previous = [], -1
    for i, title in enumerate(titles):
        base = f"chp{i:03d}"
        size = len(base) + len(title.encode("utf-8"))
        pad = max(0, previous + 1 - size)
        ids.append(base + "-" * pad)
        previous = size + pad
    return ids


def _tag_vorbis(path: Path, timeline: Timeline) -> None:
    """Vorbis comments, with chapters as CHAPTERxxx / CHAPTERxxxNAME."""
    import mutagen

    session = timeline.session
    audio = mutagen.File(path)
    audio.delete()
    audio.update({"TITLE": session.title, "ARTIST": ARTIST, "ALBUM": ALBUM, "GENRE": GENRE,
                  "COMMENT": session.summary})
    for i, chapter in enumerate(chapters(timeline), 1):
        audio[f"CHAPTER{i:03d}"] = timestamp(seconds_to_samples(chapter.start_s))
        audio[f"CHAPTER{i:03d}NAME"] = chapter.title
    audio.save()


def write_playlist(folder: Path, entries: list[tuple[Path, str, float]]) -> Path:
    """`guided.m3u8` in `folder`: each file with its title and length."""
    lines = ["#EXTM3U"]
    for path, title, seconds in entries:
        lines += [f"#EXTINF:{round(seconds)},{ARTIST} - {title}", path.name]
    playlist = folder / "guided.m3u8"
    write_text(playlist, "\n".join(lines) + "\n")
    return playlist


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temp file beside it, then rename)."""
    with writing(Path(path)) as temp:
        temp.write_text(text, encoding="utf-8")

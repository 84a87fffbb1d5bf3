"""The review page: one self-contained HTML file, nothing loaded from the network.

Sections: a player (the H.264/AAC access copy beside the page, with the run's
WebVTT as its subtitle track, each voice in its lane's colour), a timeline of
who speaks when (one lane per character, in the ASS styles' colours), the
character gallery, the dialogue with its evidence and confidence (low
confidence stands out), before/after stills of the restoration with what each
step reported, and the run's figures.
Clicking a line or a timeline bar seeks the player there.

Every text from the film or the user is escaped: in HTML as entities, in the
cue colours' CSS as CSS escapes; the script only ever sets ``textContent``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from sync.cues import build_cues
from sync.transcript import Transcript
from sync.writers import speaker_colour, timecode, to_vtt, voice_name

_NAMED_BY = {
    "cast": "matched to a cast photo",
    "order": "face tracks, in order of appearance",
}
LOW_CONFIDENCE = 0.5
"""Lines below this confidence are marked for review."""


@dataclass(frozen=True)
class ReportAssets:
    """What the page shows besides the transcript and manifest (all optional)."""

    access: str | None = None
    """File name of the access copy beside the page."""
    thumbnails: dict[str, str] = field(default_factory=dict)
    """Speaker id -> file name of its face thumbnail beside the page."""
    still_seconds: float | None = None
    before: bytes | None = None
    """JPEG of the source at ``still_seconds`` (inlined)."""
    after: bytes | None = None
    """JPEG of the master at ``still_seconds`` (inlined)."""
    vtt: bytes | None = None
    """The run's WebVTT file, as written beside the page (inlined as the player's track);
    without it the page writes the same from the transcript with the default cue rules."""


def assets_of_run(folder: Path, manifest: dict) -> ReportAssets:
    """The page's assets for a finished run's folder (``rename`` and ``import-subs`` re-render
    the page): the access copy and thumbnails named in the manifest, and the stills taken
    again from the master and, if it is still where it was, the source."""
    from restore.access import still_at

    outputs = manifest.get("outputs") or {}
    access = outputs.get("access")
    thumbnails = {
        kind.split()[1]: name
        for kind, name in outputs.items()
        if kind.startswith("thumbnail ") and (folder / name).exists()
    }
    duration = (manifest.get("source") or {}).get("duration") or 0.0
    seconds = round(duration * 0.4, 3)
    master = folder / outputs["master"] if "master" in outputs else None
    source = Path((manifest.get("source") or {}).get("path") or "")
    has_source = (manifest.get("source") or {}).get("kind") == "file" and source.is_file()
    vtt = folder / outputs["vtt"] if "vtt" in outputs else None
    return ReportAssets(
        access=access if access and (folder / access).exists() else None,
        thumbnails=thumbnails,
        still_seconds=seconds,
        before=still_at(source, seconds) if has_source else None,
        after=still_at(master, seconds) if master is not None and master.exists() else None,
        vtt=vtt.read_bytes() if vtt is not None and vtt.is_file() else None,
    )


_STYLE = """
:root{--bg:#fff;--fg:#222;--dim:#777;--line:#ddd}
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:76em;color:var(--fg);
padding:0 1em}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:2px solid #eee}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.t{font-family:monospace;white-space:nowrap}
tr.line{cursor:pointer}tr.line:hover{background:#f0f6ff}
tr.low{background:#fff1d6}tr.low td.c{color:#b25000;font-weight:700}
.badge{font-size:.75em;background:#b25000;color:#fff;border-radius:.3em;padding:0 .35em;
margin-left:.3em}
tr.now{outline:2px solid #3a7bd5}
.who{font-weight:600;border-left:.6em solid #ccc;padding-left:.3em}.dim{color:var(--dim)}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:0}dd{margin:0}
dt{color:var(--dim)}
#player video{width:100%;max-width:48em;max-height:60vh;background:#000;display:block}
#timeline svg{width:100%;height:auto;background:#fafafa;border:1px solid var(--line)}
#timeline rect.bar{cursor:pointer;stroke:#0005;stroke-width:.5}
#timeline rect.bar.low{stroke:#b25000;stroke-width:1.5;stroke-dasharray:3 2}
.gallery{display:flex;flex-wrap:wrap;gap:1em}
.card{border:1px solid var(--line);border-radius:.4em;padding:.6em;width:15em}
.card dl{grid-template-columns:max-content 1fr}
.card img{width:100%;border-radius:.3em;display:block;margin-bottom:.4em}
.card .hint{font-size:.8em;margin:.4em 0 0}
.card .noimg{height:8em;background:#eee;display:flex;align-items:center;justify-content:center}
.stills{display:flex;gap:1em;flex-wrap:wrap}
.stills figure{margin:0;flex:1;min-width:15em;max-width:24em}
.stills img{width:100%;display:block}.cols{display:grid;grid-template-columns:1fr 1fr;gap:2em}
"""

_SCRIPT = """
(function(){
const video = document.getElementById('video');
function seek(t){ if(!video) return; video.currentTime = t + 0.01; video.play().catch(()=>{}); }
const onlyLow = document.getElementById('only-low');
if(onlyLow) onlyLow.addEventListener('change', () => {
  document.querySelectorAll('tr.line:not(.low)').forEach(r => { r.hidden = onlyLow.checked; });
});
document.querySelectorAll('[data-start]').forEach(el => el.addEventListener('click',
  () => seek(parseFloat(el.dataset.start))));
if(!video) return;
video.addEventListener('loadedmetadata', () => {
  video.dataset.duration = video.duration.toFixed(2);
});
const subtitles = document.getElementById('subtitles');
function loaded(){ video.dataset.cues = String(subtitles.track.cues.length); }
if(subtitles.readyState === 2) loaded(); else subtitles.addEventListener('load', loaded);
// rows are the transcript's lines (a cue may hold part of one, or two): their own times
const rows = Array.from(document.querySelectorAll('tr.line'));
video.addEventListener('timeupdate', () => {
  const t = video.currentTime;
  for(const r of rows){
    const on = t >= parseFloat(r.dataset.start) && t < parseFloat(r.dataset.end);
    r.classList.toggle('now', on);
  }
});
})();
"""


def _css_string(text: str) -> str:
    """A double-quoted CSS string holding ``text``: every character but letters, digits,
    space, ``_`` and ``-`` as a hex escape, so nothing can end the string, the rule or the
    ``<style>`` element."""
    safe = (
        ch if ch.isascii() and (ch.isalnum() or ch in " _-") else f"\\{ord(ch):x} " for ch in text
    )
    return '"' + "".join(safe) + '"'


def _cue_colours(transcript: Transcript, colours: dict[str, str]) -> str:
    """CSS giving each voice of the track its lane's colour (the VTT's ``<v Name>``)."""
    rules = []
    for speaker in transcript.speakers:
        voice = voice_name(transcript, speaker.id)
        if voice:
            rules.append(
                f"#video::cue(v[voice={_css_string(voice)}]){{color:{colours[speaker.id]}}}"
            )
    return "".join(rules)


def _track(transcript: Transcript, assets: ReportAssets) -> str:
    """The subtitle track: the run's VTT (or the same written here) as a data URL, since
    Chromium refuses a track file beside a page opened from disk as cross-origin."""
    vtt = assets.vtt
    if vtt is None:
        vtt = to_vtt(build_cues(transcript.lines), transcript).encode("utf-8")
    data = base64.b64encode(vtt).decode("ascii")
    lang = escape(transcript.language or "und")
    return (
        f'<track id="subtitles" kind="subtitles" default srclang="{lang}" '
        f'label="Dialogue ({lang})" src="data:text/vtt;base64,{data}">'
    )


def _figure_rows(transcript: Transcript, manifest: dict) -> list[tuple[str, str]]:
    source = manifest.get("source") or {}
    video = source.get("video") or {}
    duration = transcript.duration or source.get("duration") or 0.0
    rows = [
        ("source", source.get("path", transcript.source)),
        ("source sha256", (source.get("sha256") or "")[:16]),
        ("duration", timecode(duration)),
    ]
    if video:
        rows.append(("picture", f"{video.get('width')}x{video.get('height')} {video.get('codec')}"))
    rows += [
        ("language", transcript.language),
        ("lines", str(len(transcript.lines))),
        ("characters", str(len(transcript.speakers))),
    ]
    speech = (manifest.get("models") or {}).get("speech") or {}
    if speech:
        rows.append(
            (
                "speech model",
                f"{speech.get('engine')} {speech.get('model')} on {speech.get('device')} "
                f"({speech.get('compute_type')})",
            )
        )
    faces = manifest.get("faces") or {}
    if faces:
        rows.append(
            (
                "face detector",
                f"{faces.get('detector')} at {faces.get('analysis_fps')} fps, "
                f"{faces.get('frames_with_faces')}/{faces.get('frames_analysed')} "
                "frames with faces",
            )
        )
    for key, value in _loudness(manifest):
        rows.append((key, value))
    timings = manifest.get("timings") or {}
    total = 0.0
    for stage, seconds in timings.items():
        speed = f", {duration / seconds:.1f}x real time" if seconds >= 0.05 and duration else ""
        rows.append((f"time: {stage}", f"{seconds:.2f} s{speed}"))
        if "within" not in stage:
            total += seconds
    if total:
        rows.append(("time: total", f"{total:.2f} s, {duration / total:.2f}x real time"))
    return rows


def _loudness(manifest: dict) -> list[tuple[str, str]]:
    """Loudness figures wherever the manifest carries them (top level or a sound step)."""
    found = []
    places = [("", manifest.get("loudness"))]
    for step in (manifest.get("restoration") or {}).get("sound") or []:
        places.append((f"{step.get('step')} ", step))
    for prefix, place in places:
        if not isinstance(place, dict):
            continue
        for key, value in place.items():
            low = key.lower()
            if any(tag in low for tag in ("lufs", "loudness", "true_peak", "lra")):
                found.append((f"loudness: {prefix}{key}", _value(value)))
    return found


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:200]
    return str(value)


def _dl(rows) -> str:
    return "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)


def _timeline(transcript: Transcript, colours: dict[str, str]) -> str:
    lanes = [(s.id, s.name) for s in transcript.speakers]
    if any(line.speaker is None or line.speaker not in colours for line in transcript.lines):
        lanes.append((None, "unattributed"))
    duration = max([transcript.duration or 0.0] + [line.end for line in transcript.lines] + [1.0])
    width, label, lane_h = 1000, 120, 26
    height = lane_h * max(1, len(lanes)) + 22
    scale = (width - label - 10) / duration
    parts = [
        f'<svg viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-label="who speaks when">'
    ]
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
    step = next((s for s in steps if duration / s <= 12), 3600)
    tick = 0.0
    while tick <= duration:
        x = label + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" stroke="#e4e4e4"/>'
            f'<text x="{x:.1f}" y="{height - 5}" font-size="10" text-anchor="middle" '
            f'fill="#777">{timecode(tick)[:8]}</text>'
        )
        tick += step
    for row, (speaker_id, name) in enumerate(lanes):
        y = row * lane_h
        parts.append(f'<text x="4" y="{y + 17}" font-size="12" fill="#333">{escape(name)}</text>')
        colour = colours.get(speaker_id, "#bbbbbb") if speaker_id else "#bbbbbb"
        for number, line in enumerate(transcript.lines, 1):
            lane = line.speaker if line.speaker in colours else None
            if lane != speaker_id:
                continue
            low = line.confidence is not None and line.confidence < LOW_CONFIDENCE
            x = label + line.start * scale
            w = max(1.5, (line.end - line.start) * scale)
            parts.append(
                f'<rect class="bar{" low" if low else ""}" data-start="{line.start:.3f}" '
                f'x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{lane_h - 8}" '
                f'fill="{colour}"><title>{number}. {timecode(line.start)} '
                f"{escape(line.text)}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _gallery(
    transcript: Transcript, manifest: dict, colours: dict[str, str], assets: ReportAssets
) -> str:
    if not transcript.speakers:
        return '<p class="dim">No characters (no faces were looked for, or none were seen).</p>'
    how = {c.get("id"): c for c in ((manifest.get("faces") or {}).get("characters") or [])}
    cards = []
    for speaker in transcript.speakers:
        spoken = [line for line in transcript.lines if line.speaker == speaker.id]
        lips = sum(1 for line in spoken if line.evidence == "lips")
        thumb = assets.thumbnails.get(speaker.id)
        picture = (
            f'<img src="{escape(thumb)}" alt="face of {escape(speaker.name)}">'
            if thumb
            else '<div class="noimg dim">no thumbnail</div>'
        )
        named_by = _NAMED_BY.get(how.get(speaker.id, {}).get("named_by"), "face tracks")
        rows = [
            ("id", speaker.id),
            ("lines", f"{len(spoken)} ({lips} by lips)"),
            ("words", str(sum(len(line.text.split()) for line in spoken))),
            ("on screen", f"{speaker.seen_seconds:.1f} s"),
            ("identified by", named_by),
        ]
        cards.append(
            f'<div class="card" id="character-{escape(speaker.id)}">{picture}'
            f'<div class="who" style="border-color:{colours[speaker.id]}">'
            f"{escape(speaker.name)}</div><dl>{_dl(rows)}</dl>"
            f'<p class="dim hint">name it: <code>reelscribe rename OUTDIR '
            f"{escape(speaker.id)} &quot;Name&quot;</code></p></div>"
        )
    return f'<div class="gallery">{"".join(cards)}</div>'


def _lines(transcript: Transcript, colours: dict[str, str]) -> str:
    rows = []
    for number, line in enumerate(transcript.lines, 1):
        name = transcript.speaker_name(line.speaker)
        who = (
            f'<span class="who" style="border-color:{colours.get(line.speaker, "#ccc")}">'
            f"{escape(name)}</span>"
            if name
            else '<span class="dim">unattributed</span>'
        )
        low = line.confidence is not None and line.confidence < LOW_CONFIDENCE
        confidence = "" if line.confidence is None else f"{line.confidence:.2f}"
        badge = '<span class="badge">check</span>' if low else ""
        rows.append(
            f'<tr class="line{" low" if low else ""}" id="line-{number}" '
            f'data-start="{line.start:.3f}" data-end="{line.end:.3f}">'
            f'<td class="t">{number}</td><td class="t">{timecode(line.start)}</td>'
            f'<td class="t">{timecode(line.end)}</td><td>{who}</td>'
            f"<td>{escape(line.text)}</td><td>{escape(line.evidence or '-')}</td>"
            f'<td class="c">{confidence}{badge}</td></tr>'
        )
    if not rows:
        return '<p class="dim">No dialogue was found.</p>'
    to_check = sum(
        1
        for line in transcript.lines
        if line.confidence is not None and line.confidence < LOW_CONFIDENCE
    )
    unattributed = sum(1 for line in transcript.lines if line.speaker is None)
    return (
        f'<p class="dim">{len(rows)} lines; {to_check} to check (confidence under '
        f"{LOW_CONFIDENCE}); {unattributed} unattributed. "
        '<label><input type="checkbox" id="only-low"> show only lines to check</label></p>'
        "<table><thead><tr><th>#</th><th>start</th><th>end</th><th>speaker</th><th>line</th>"
        "<th>evidence</th><th>confidence</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _restoration(manifest: dict, assets: ReportAssets) -> str:
    parts = []
    if assets.before or assets.after:
        at = f" at {timecode(assets.still_seconds)}" if assets.still_seconds is not None else ""
        figures = []
        for label, jpeg in (("before (source)", assets.before), ("after (master)", assets.after)):
            if jpeg:
                data = base64.b64encode(jpeg).decode("ascii")
                figures.append(
                    f'<figure><img src="data:image/jpeg;base64,{data}" alt="{label}">'
                    f"<figcaption>{label}{at}</figcaption></figure>"
                )
        parts.append(f'<div class="stills">{"".join(figures)}</div>')
    restoration = manifest.get("restoration") or {}
    columns = []
    for kind in ("picture", "sound"):
        steps = restoration.get(kind) or []
        if not steps:
            columns.append(
                f"<div><h3>{kind}</h3><p class='dim'>no steps: passed through unchanged</p></div>"
            )
            continue
        rows = []
        for step in steps:
            changed = {k: v for k, v in step.items() if k != "step"}
            details = _dl((k, _value(v)) for k, v in changed.items()) or "<dd>-</dd>"
            rows.append(
                f"<tr><td>{escape(str(step.get('step')))}</td><td><dl>{details}</dl></td></tr>"
            )
        columns.append(
            f"<div><h3>{kind}</h3><table><thead><tr><th>step</th><th>what it changed</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    parts.append(f'<div class="cols">{"".join(columns)}</div>')
    return "".join(parts)


def render(transcript: Transcript, manifest: dict, assets: ReportAssets | None = None) -> str:
    """The page as a string; every text from the film or the user is escaped."""
    assets = assets or ReportAssets()
    colours = {s.id: speaker_colour(i) for i, s in enumerate(transcript.speakers)}
    if assets.access:
        poster = (
            f' poster="data:image/jpeg;base64,{base64.b64encode(assets.after).decode("ascii")}"'
            if assets.after
            else ""
        )
        player = (
            f'<video id="video" controls preload="metadata"{poster} '
            f'src="{escape(assets.access)}">{_track(transcript, assets)}</video>'
        )
    else:
        player = '<p class="dim">No access copy was written.</p>'
    title = escape(transcript.source)
    lang = escape(transcript.language or "und")
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}: reelscribe review</title>"
        f"<style>{_STYLE}{_cue_colours(transcript, colours)}</style></head><body>"
        f'<h1>{title}</h1><p class="dim">reelscribe review page. Click a line or a bar '
        "to play from there.</p>"
        f'<section id="player"><h2>Player</h2>{player}</section>'
        f'<section id="timeline"><h2>Who speaks when</h2>{_timeline(transcript, colours)}'
        "</section>"
        f'<section id="characters"><h2>Characters</h2>'
        f"{_gallery(transcript, manifest, colours, assets)}</section>"
        f'<section id="lines"><h2>Dialogue</h2>{_lines(transcript, colours)}</section>'
        f'<section id="restoration"><h2>Restoration</h2>{_restoration(manifest, assets)}'
        "</section>"
        f'<section id="figures"><h2>Run</h2><dl>{_dl(_figure_rows(transcript, manifest))}'
        "</dl></section>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )

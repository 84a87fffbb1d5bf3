"""The review page: one self-contained HTML file, nothing loaded from the network."""

from __future__ import annotations

from html import escape

from sync.transcript import Transcript
from sync.writers import speaker_colour, timecode

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.t{font-family:monospace;white-space:nowrap}.low{background:#fff4e0}
.who{font-weight:600}.dim{color:#888}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
"""


def render(transcript: Transcript, manifest: dict) -> str:
    """The page as a string; every text from the film or the user is escaped."""
    colours = {s.id: speaker_colour(i) for i, s in enumerate(transcript.speakers)}
    rows = []
    for number, line in enumerate(transcript.lines, 1):
        name = transcript.speaker_name(line.speaker)
        who = (
            f'<span class="who" style="border-left:.6em solid {colours.get(line.speaker, "#ccc")};'
            f'padding-left:.3em">{escape(name)}</span>'
            if name
            else '<span class="dim">unattributed</span>'
        )
        confidence = "" if line.confidence is None else f"{line.confidence:.2f}"
        low = ' class="low"' if line.confidence is not None and line.confidence < 0.5 else ""
        rows.append(
            f'<tr{low} id="line-{number}"><td class="t">{timecode(line.start)}</td>'
            f'<td class="t">{timecode(line.end)}</td><td>{who}</td>'
            f"<td>{escape(line.text)}</td><td>{escape(line.evidence or '')}</td>"
            f"<td>{confidence}</td></tr>"
        )
    figures = [
        ("source", manifest.get("source", {}).get("path", transcript.source)),
        ("duration", timecode(transcript.duration)),
        ("language", transcript.language),
        ("speech model", ((manifest.get("models") or {}).get("speech") or {}).get("model", "")),
        ("lines", str(len(transcript.lines))),
        ("characters", str(len(transcript.speakers))),
    ]
    for stage, seconds in manifest.get("timings", {}).items():
        figures.append((f"time: {stage}", f"{seconds:.2f} s"))
    restoration = manifest.get("restoration", {})
    for kind in ("picture", "sound"):
        steps = restoration.get(kind) or []
        names = ", ".join(str(s.get("step")) for s in steps) or "none (passed through unchanged)"
        figures.append((f"{kind} restoration", names))
    dl = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in figures)
    title = escape(transcript.source)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}: reelscribe review</title><style>{_STYLE}</style></head><body>"
        f'<h1>{title}</h1><section id="figures"><h2>Run</h2><dl>{dl}</dl></section>'
        '<section id="lines"><h2>Dialogue</h2><table><thead><tr><th>start</th><th>end</th>'
        "<th>speaker</th><th>line</th><th>evidence</th><th>confidence</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section></body></html>\n"
    )

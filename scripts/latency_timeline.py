#!/usr/bin/env python3
"""Splits each answer's voice-to-voice time between the way in, the server and the way out.

Lines the caller's instants (printed by latency_sip.py / latency_webrtc.py as
"[unix EOS → FIRST]") up with callbot's call record (calls.db): the server's final transcript
and the bot's playback_started, both as Unix times (call start + at_ms). Caller and server run
on the same box, so they share one clock. Events are matched by time, so the calls must have
run one at a time (as the latency runs do), not side by side.

  python3 scripts/latency_timeline.py CALLER_OUTPUT.txt DATA_DIR/calls.db

Columns, per answer (ms):
  in+ASR  the caller's end of speech → the server's final (network, jitter buffer, VAD,
          the early decode and the silence that ends the turn)
  answer  final → first bot packet out (dialog, TTS's first chunk, encoding)
  out     first bot packet out → the caller hears it (network, the caller's jitter buffer
          and decoder)
"""
import datetime
import json
import re
import sqlite3
import sys

LINE = re.compile(r"^(\S+)\s+(\d+) ms.*\[unix ([\d.]+) → ([\d.]+)\]")


def server_events(db_path):
    """(kind, unix seconds) of every final caller transcript and playback start, in order."""
    db = sqlite3.connect(db_path)
    out = []
    for call_id, started in db.execute("SELECT id, started_at FROM calls ORDER BY started_at"):
        t0 = datetime.datetime.fromisoformat(started).timestamp()
        for at, kind, body in db.execute(
                "SELECT at_ms, type, body FROM call_events WHERE call_id = ? ORDER BY seq", (call_id,)):
            event = json.loads(body)
            if kind == "transcript" and event.get("speaker") == "caller" and event.get("final"):
                out.append(("final", t0 + at / 1000))
            elif kind == "playback_started":
                out.append(("played", t0 + at / 1000))
    return sorted(out, key=lambda e: e[1])


def main():
    events = server_events(sys.argv[2])
    rows = []
    with open(sys.argv[1]) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            name, total, eos, heard = m.group(1), int(m.group(2)), float(m.group(3)), float(m.group(4))
            finals = [t for k, t in events if k == "final" and eos - 0.2 < t < heard]
            played = [t for k, t in events if k == "played" and finals and finals[-1] <= t < heard]
            if not finals or not played:
                print(f"{name:45s} {total:5d}  (no matching server events)")
                continue
            final, out = finals[-1], played[0]
            split = ((final - eos) * 1000, (out - final) * 1000, (heard - out) * 1000)
            rows.append(split)
            print(f"{name:45s} {total:5d}   in+ASR {split[0]:5.0f}   answer {split[1]:4.0f}   out {split[2]:4.0f}")
    if rows:
        med = lambda xs: sorted(xs)[len(xs) // 2]
        cols = list(zip(*rows))
        print(f"{'median':45s}        in+ASR {med(cols[0]):5.0f}   answer {med(cols[1]):4.0f}   out {med(cols[2]):4.0f}")


if __name__ == "__main__":
    main()

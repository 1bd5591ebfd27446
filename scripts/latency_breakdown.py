#!/usr/bin/env python3
"""Where a call's answer time went, from callbot's call record (calls.db).

For each call, the last caller utterance: its end of voice (stream time) to its final
transcript event, and the final to the bot's next playback_started event.

  python3 scripts/latency_breakdown.py DATA_DIR/calls.db
"""
import json
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
for (call_id,) in db.execute("SELECT id FROM calls ORDER BY started_at"):
    eos = final_at = played = text = None
    for at, kind, body in db.execute(
            "SELECT at_ms, type, body FROM call_events WHERE call_id = ? ORDER BY seq", (call_id,)):
        event = json.loads(body)
        if kind == "transcript" and event.get("speaker") == "caller" and event.get("final"):
            eos, final_at, text, played = event["end_ms"], at, event["text"], None
        elif kind == "playback_started" and final_at is not None and played is None and at >= final_at:
            played = at
    if final_at is None:
        continue
    to_audio = f"{played - final_at} ms" if played is not None else "-"
    print(f"{call_id[:12]:12s} end of voice -> final {final_at - eos:5d} ms   final -> audio {to_audio:>7s}   {text!r}")

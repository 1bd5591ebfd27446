#!/usr/bin/python3
"""Voice-to-voice latency of a WebRTC call, measured at the caller (aiortc, Opus).

Calls callbot through POST /api/webrtc/offer, sends silence until the greeting has ended, then
for each recording: sends it in real time as the microphone, notes when its speech ends (the
send time of its last 20 ms frame above --speech-end-dbfs, -50 by default), and times the first
audible frame (above -40 dBFS) of the bot's answer that aiortc hands over after that (so
aiortc's own jitter buffer and Opus decoding count, as a browser's would). Prints one line per
utterance and p50/p95; the second column marks the end of speech at -40 dBFS instead, which is
early wherever a speaker's last syllable is quiet.

  python3 scripts/latency_webrtc.py --url http://127.0.0.1:8080 CLIP.wav [CLIP.wav ...]

Run it (and the server) inside a loopback-only namespace; see docs/benchmarks.md.
"""
import argparse
import asyncio
import fractions
import json
import os
import subprocess
import tempfile
import time
import urllib.request
import wave

import aioice.ice

# aioice leaves 127.0.0.1 out of its host candidates on purpose; we want only it.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

import av  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from latency_report import summary  # noqa: E402


# Monotonic → Unix time, to line the caller's instants up with the server's call record
# (scripts/latency_timeline.py).
UNIX = time.time() - time.monotonic()

RATE = 48000
FRAME = RATE // 50  # 20 ms
LOUD = 10 ** (-40 / 20)  # -40 dBFS, on float samples: the bot's answer is audible
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def load_48k(path):
    """Float mono 48 kHz samples of any recording (via sox)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "clip.wav")
        subprocess.run(["sox", path, "-e", "signed-integer", "-b", "16", "-r", str(RATE), "-c", "1", out], check=True)
        with wave.open(out) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0


class Microphone(MediaStreamTrack):
    """Silence, or the queued recording, paced at 20 ms; remembers when loud frames went out."""

    kind = "audio"

    def __init__(self, speech_dbfs):
        super().__init__()
        self.queue = np.zeros(0, dtype=np.float32)
        self.pts = 0
        self.start = None
        self.speech_level = 10 ** (speech_dbfs / 20)
        self.last_speech = None
        self.last_loud = None

    def play(self, pcm):
        self.queue = pcm
        self.last_speech = None
        self.last_loud = None

    def playing(self):
        return len(self.queue) > 0

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        due = self.start + self.pts / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk, self.queue = self.queue[:FRAME], self.queue[FRAME:]
        chunk = np.pad(chunk, (0, FRAME - len(chunk)))
        rms = np.sqrt(np.mean(chunk * chunk))
        if rms > self.speech_level:
            self.last_speech = time.monotonic()
        if rms > LOUD:
            self.last_loud = time.monotonic()
        frame = av.AudioFrame.from_ndarray((chunk * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.pts, fractions.Fraction(1, RATE)
        self.pts += FRAME
        return frame


class Ear:
    """Times of the loud frames the bot sends."""

    def __init__(self):
        self.loud = []

    async def listen(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            channels = len(frame.layout.channels)
            pcm = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)[: frame.samples * channels]
            x = pcm.astype(np.float32) / 32768.0
            now = time.monotonic()
            if np.sqrt(np.mean(x * x)) > LOUD:
                self.loud.append(now)

    def quiet_for(self, seconds):
        return not self.loud or time.monotonic() - self.loud[-1] >= seconds


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=20) as resp:
        return json.load(resp)


async def wait_for(cond, limit):
    end = time.monotonic() + limit
    while not cond() and time.monotonic() < end:
        await asyncio.sleep(0.005)
    return cond()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--speech-end-dbfs", type=float, default=-50.0,
                    help="the caller's speech ends with its last 20 ms frame above this level")
    ap.add_argument("clips", nargs="+")
    args = ap.parse_args()
    mic, ear = Microphone(args.speech_end_dbfs), Ear()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(mic)
    pc.on("track", lambda track: asyncio.ensure_future(ear.listen(track)))
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    answer = await asyncio.get_running_loop().run_in_executor(None, post_json, args.url + "/api/webrtc/offer", body)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    # The greeting: heard, then 1 s of quiet.
    await wait_for(lambda: ear.loud, 30)
    await wait_for(lambda: ear.quiet_for(1.0), 30)
    latencies, at_40 = [], []
    for clip in args.clips:
        mic.play(load_48k(clip))
        await wait_for(lambda: not mic.playing(), 60)
        eos, eos_40 = mic.last_speech, mic.last_loud
        answered = await wait_for(lambda: ear.loud and eos and ear.loud[-1] > eos, 15)
        name = os.path.basename(clip)
        if answered and eos:
            first = min(t for t in ear.loud if t > eos)
            ms, ms_40 = (first - eos) * 1000, (first - eos_40) * 1000
            latencies.append(ms)
            at_40.append(ms_40)
            print(f"{name:45s} {ms:7.0f} ms   (speech end at -40 dBFS: {ms_40:5.0f} ms)"
                  f"   [unix {eos + UNIX:.3f} → {first + UNIX:.3f}]", flush=True)
        else:
            print(f"{name:45s}  no answer", flush=True)
        await wait_for(lambda: ear.quiet_for(0.8), 30)
    await pc.close()
    if latencies:
        print(summary("voice-to-voice latency", latencies) + f" call {answer['call_id']}")
        print(summary("  with speech end at -40 dBFS", at_40))


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/python3
"""A WebRTC caller built on aiortc (Debian python3-aiortc), for tests/webrtc.rs.

Plays a wav file as its microphone, POSTs a non-trickle offer to callbot's /api/webrtc/offer,
stays on the call for --seconds, and measures the audio callbot sends back. Prints one JSON
object: the call id and what was heard (seconds, RMS). Run it inside a loopback-only network
namespace: aiortc is told below to offer 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import urllib.request

import aioice.ice

# aioice leaves 127.0.0.1 out of its host candidates on purpose; we want only it.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

import numpy as np  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaPlayer  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402

# The server is on 127.0.0.1: never go through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=20) as resp:
        return json.load(resp)


async def listen(track, heard):
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        channels = len(frame.layout.channels)
        # planes[0] is padded past the samples: slice to the real length.
        pcm = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)[: frame.samples * channels]
        x = pcm.astype(np.float64) / 32768.0
        if channels > 1:
            x = x.reshape(-1, channels).mean(axis=1)
        heard["samples"] += len(x)
        heard["sum_sq"] += float(np.sum(x * x))
        heard["rate"] = frame.sample_rate


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--wav", required=True)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--lang", default=None)
    args = ap.parse_args()

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # unset means a public STUN server
    player = MediaPlayer(args.wav)
    pc.addTrack(player.audio)
    heard = {"samples": 0, "sum_sq": 0.0, "rate": 48000}
    listeners = []
    pc.on("track", lambda track: listeners.append(asyncio.ensure_future(listen(track, heard))))
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before returning
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    if args.lang:
        body["lang"] = args.lang
    answer = await asyncio.get_running_loop().run_in_executor(None, post_json, args.url + "/api/webrtc/offer", body)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    await asyncio.sleep(args.seconds)
    await pc.close()
    for task in listeners:
        task.cancel()
    seconds = heard["samples"] / heard["rate"]
    rms = (heard["sum_sq"] / heard["samples"]) ** 0.5 if heard["samples"] else 0.0
    print(json.dumps({"call_id": answer["call_id"], "heard_seconds": round(seconds, 2), "heard_rms": round(rms, 4)}))


if __name__ == "__main__":
    asyncio.run(main())

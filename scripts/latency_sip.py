#!/usr/bin/env python3
"""Voice-to-voice latency of a SIP call, measured at the caller.

A minimal SIP/RTP caller (UDP, PCMU): it dials callbot, waits for the greeting to end, then for
each recording: streams it in real time as RTP, notes when its speech ends (send time of its last
20 ms frame above --speech-end-dbfs, -50 by default), and times the first audible RTP packet
(above -40 dBFS) of the bot's answer after that. Prints one line per utterance and p50/p95; the
second column marks the end of speech at -40 dBFS instead, which is early wherever a speaker's
last syllable is quiet (TIMIT's "...all year" runs at -41 to -50 dBFS for 0.6 s).

  python3 scripts/latency_sip.py --server 127.0.0.1:5060 CLIP.wav [CLIP.wav ...]

Run it (and the server) inside a loopback-only namespace; see docs/benchmarks.md.
"""
import argparse
import audioop
import os
import random
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

from latency_report import summary


# Monotonic → Unix time, to line the caller's instants up with the server's call record
# (scripts/latency_timeline.py).
UNIX = time.time() - time.monotonic()

FRAME = 160  # 20 ms at 8 kHz
LOUD = 10 ** (-40 / 20) * 32768  # -40 dBFS in 16-bit units: the bot's answer is audible


def level(dbfs):
    return 10 ** (dbfs / 20) * 32768


def load_8k(path):
    """16-bit mono 8 kHz samples of any recording (via sox)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "clip.wav")
        subprocess.run(["sox", path, "-e", "signed-integer", "-b", "16", "-r", "8000", "-c", "1", out], check=True)
        with wave.open(out) as w:
            return w.readframes(w.getnframes())


def sip_message(lines, body=""):
    return ("\r\n".join(lines + [f"Content-Length: {len(body.encode())}", "", ""]) + body).encode()


class Call:
    def __init__(self, server, local_ip="127.0.0.1"):
        self.server = server
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((local_ip, 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((local_ip, 0))
        self.local_ip = local_ip
        self.call_id = f"{random.getrandbits(64):x}@{local_ip}"
        self.tag = f"{random.getrandbits(32):x}"
        self.seq, self.ts, self.ssrc = random.getrandbits(16), random.getrandbits(32), random.getrandbits(32)
        self.remote_rtp = None
        self.to_hdr = None

    def invite(self):
        sip_port, rtp_port = self.sip.getsockname()[1], self.rtp.getsockname()[1]
        host, port = self.server
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {self.local_ip}\r\ns=-\r\nc=IN IP4 {self.local_ip}\r\nt=0 0\r\n"
               f"m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n")
        self.via = f"Via: SIP/2.0/UDP {self.local_ip}:{sip_port};branch=z9hG4bK{random.getrandbits(48):x};rport"
        self.from_hdr = f"From: <sip:latency@{self.local_ip}:{sip_port}>;tag={self.tag}"
        self.uri = f"sip:shop@{host}:{port}"
        msg = sip_message([f"INVITE {self.uri} SIP/2.0", self.via, self.from_hdr, f"To: <{self.uri}>",
                           f"Call-ID: {self.call_id}", "CSeq: 1 INVITE", f"Contact: <sip:latency@{self.local_ip}:{sip_port}>",
                           "Max-Forwards: 70", "Content-Type: application/sdp"], sdp)
        self.sip.sendto(msg, self.server)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data, _ = self.sip.recvfrom(65535)
            text = data.decode(errors="replace")
            status = text.split(" ", 2)[1]
            if status.startswith("2"):
                head, _, body = text.partition("\r\n\r\n")
                self.to_hdr = next(l for l in head.split("\r\n") if l.lower().startswith("to:"))
                ip = next(l for l in body.split("\r\n") if l.startswith("c=")).split()[-1]
                port = int(next(l for l in body.split("\r\n") if l.startswith("m=audio")).split()[1])
                self.remote_rtp = (ip, port)
                self.sip.sendto(sip_message([f"ACK {self.uri} SIP/2.0", self.via.replace("branch=", "branch=z9hG4bKack"),
                                             self.from_hdr, self.to_hdr, f"Call-ID: {self.call_id}", "CSeq: 1 ACK",
                                             "Max-Forwards: 70"]), self.server)
                return
            if not status.startswith("1"):
                sys.exit(f"call refused: {text.splitlines()[0]}")
        sys.exit("no answer to INVITE")

    def bye(self):
        self.sip.sendto(sip_message([f"BYE {self.uri} SIP/2.0", self.via.replace("branch=", "branch=z9hG4bKbye"),
                                     self.from_hdr, self.to_hdr, f"Call-ID: {self.call_id}", "CSeq: 2 BYE",
                                     "Max-Forwards: 70"]), self.server)

    def send_frame(self, pcm16):
        payload = audioop.lin2ulaw(pcm16, 2)
        header = struct.pack("!BBHII", 0x80, 0, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF, self.ssrc)
        self.rtp.sendto(header + payload, self.remote_rtp)
        self.seq += 1
        self.ts += FRAME

    def loud_packet(self, timeout):
        """Waits up to `timeout` s for an RTP packet; returns (arrival, loud?) or None."""
        r, _, _ = select.select([self.rtp], [], [], max(timeout, 0))
        if not r:
            return None
        data, _ = self.rtp.recvfrom(2048)
        at = time.monotonic()
        payload = data[12:]
        return at, len(payload) > 0 and audioop.rms(audioop.ulaw2lin(payload, 2), 2) > LOUD

    def stream(self, pcm, on_packet, speech_level):
        """Sends `pcm` paced at 20 ms; returns the send times of its last frame above
        `speech_level` and of its last frame above -40 dBFS."""
        start, last_speech, last_loud = time.monotonic(), None, None
        for i in range(0, len(pcm) // 2, FRAME):
            frame = pcm[i * 2:(i + FRAME) * 2].ljust(FRAME * 2, b"\0")
            due = start + (i // FRAME) * 0.020
            while True:
                left = due - time.monotonic()
                if left <= 0:
                    break
                got = self.loud_packet(left)
                if got:
                    on_packet(got)
            self.send_frame(frame)
            rms = audioop.rms(frame, 2)
            if rms > speech_level:
                last_speech = time.monotonic()
            if rms > LOUD:
                last_loud = time.monotonic()
        return last_speech, last_loud

    def silence_until_quiet(self, quiet_s, limit_s):
        """Keeps sending silence until no RTP arrives for `quiet_s` (the bot finished)."""
        end, last = time.monotonic() + limit_s, time.monotonic()
        silence = b"\0" * FRAME * 2
        next_send = time.monotonic()
        while time.monotonic() < end and time.monotonic() - last < quiet_s:
            got = self.loud_packet(max(0, next_send - time.monotonic()))
            if got:
                last = got[0]
            if time.monotonic() >= next_send:
                self.send_frame(silence)
                next_send += 0.020


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--server", default="127.0.0.1:5060")
    ap.add_argument("--speech-end-dbfs", type=float, default=-50.0,
                    help="the caller's speech ends with its last 20 ms frame above this level")
    ap.add_argument("clips", nargs="+")
    args = ap.parse_args()
    host, port = args.server.rsplit(":", 1)
    call = Call((host, int(port)))
    call.invite()
    call.silence_until_quiet(1.0, 30)  # the greeting
    latencies, at_40 = [], []
    for clip in args.clips:
        pcm = load_8k(clip)
        first_loud = []
        eos, eos_40 = call.stream(pcm, lambda p: None, level(args.speech_end_dbfs))
        # The answer: first loud packet after the end of speech, sending silence meanwhile.
        silence, next_send, deadline = b"\0" * FRAME * 2, time.monotonic(), time.monotonic() + 15
        while not first_loud and time.monotonic() < deadline:
            got = call.loud_packet(max(0, next_send - time.monotonic()))
            if got and got[1]:
                first_loud.append(got[0])
            if time.monotonic() >= next_send:
                call.send_frame(silence)
                next_send += 0.020
        if first_loud:
            ms, ms_40 = (first_loud[0] - eos) * 1000, (first_loud[0] - eos_40) * 1000
            latencies.append(ms)
            at_40.append(ms_40)
            print(f"{os.path.basename(clip):45s} {ms:7.0f} ms   (speech end at -40 dBFS: {ms_40:5.0f} ms)"
                  f"   [unix {eos + UNIX:.3f} → {first_loud[0] + UNIX:.3f}]")
        else:
            print(f"{os.path.basename(clip):45s}  no answer")
        call.silence_until_quiet(0.8, 30)
    call.bye()
    if latencies:
        print(summary("voice-to-voice latency", latencies))
        print(summary("  with speech end at -40 dBFS", at_40))


if __name__ == "__main__":
    main()

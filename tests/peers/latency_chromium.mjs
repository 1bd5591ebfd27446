// Voice-to-voice latency of a WebRTC call from a real browser (headless Chromium, apt
// `chromium`, npm `playwright-core`), measured in the page: one call per recording through
// callbot's own "Call us" page. The page's microphone is WebAudio playing the recording; its
// speech ends with its last 20 ms frame above -50 dBFS (the second column: above -40 dBFS).
// An AnalyserNode on the bot's audio, read every 5 ms, times the first frame above -40 dBFS
// after that, so Chromium's own jitter buffer and Opus decoding count, as a caller's would.
//
// Usage: node latency_chromium.mjs --url http://127.0.0.1:8080 CLIP.wav [CLIP.wav ...]
// Run inside a loopback-only network namespace (see docs/benchmarks.md).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';

const argv = process.argv.slice(2);
let url = 'http://127.0.0.1:8080';
const clips = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--url') url = argv[++i];
  else clips.push(argv[i]);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
  ],
});

// Runs in the page: the microphone is a WebAudio graph, the bot's audio goes to an analyser.
function installProbe() {
  const ctx = new AudioContext({ sampleRate: 48000 });
  const mic = ctx.createMediaStreamDestination();
  navigator.mediaDevices.getUserMedia = async () => mic.stream;
  const probe = { ctx, mic, loud: [], speechEnd: null, speechEnd40: null, playing: false };
  window.probe = probe;
  const listen = (stream) => {
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 256; // 5.3 ms at 48 kHz
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let s = 0;
      for (const x of buf) s += x * x;
      if (Math.sqrt(s / buf.length) > 0.01) probe.loud.push(performance.now());
    }, 5);
  };
  const remote = document.getElementById('remote');
  const set = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject').set;
  Object.defineProperty(remote, 'srcObject', {
    get() { return this._src; },
    set(v) { this._src = v; set.call(this, v); if (v) listen(v); },
  });
  // Plays a recording (base64 wav) into the microphone; notes when its speech ends.
  probe.play = async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const audio = await ctx.decodeAudioData(bytes.buffer);
    const pcm = audio.getChannelData(0);
    const frame = Math.round(audio.sampleRate * 0.02);
    let last50 = 0, last40 = 0;
    for (let i = 0; i + frame <= pcm.length; i += frame) {
      let s = 0;
      for (let j = i; j < i + frame; j++) s += pcm[j] * pcm[j];
      const rms = Math.sqrt(s / frame);
      if (rms > 10 ** (-50 / 20)) last50 = (i + frame) / audio.sampleRate;
      if (rms > 10 ** (-40 / 20)) last40 = (i + frame) / audio.sampleRate;
    }
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(mic);
    const at = ctx.currentTime + 0.05;
    // AudioContext time → page clock.
    const [page0, ctx0] = [performance.now(), ctx.currentTime];
    const toPage = (t) => page0 + (t - ctx0) * 1000;
    probe.playing = true;
    src.onended = () => { probe.playing = false; };
    src.start(at);
    probe.speechEnd = toPage(at + last50);
    probe.speechEnd40 = toPage(at + last40);
  };
}

const quietFor = (page, ms) => page.waitForFunction(
  (q) => window.probe.loud.length > 0 && performance.now() - window.probe.loud.at(-1) > q, ms, { timeout: 60000, polling: 20 });

const results = [];
let code = 0;
for (const clip of clips) {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
  try {
    await page.goto(`${url}/?processing=off`);
    await page.evaluate(installProbe);
    await page.click('#call');
    await page.waitForFunction(() => document.body.dataset.callId, null, { timeout: 15000 });
    await quietFor(page, 1000); // the greeting, then a second of quiet
    await page.evaluate((b64) => window.probe.play(b64), readFileSync(clip).toString('base64'));
    await page.waitForFunction(() => !window.probe.playing, null, { timeout: 60000, polling: 20 });
    const answered = await page.waitForFunction(
      () => window.probe.loud.find((t) => t > window.probe.speechEnd), null, { timeout: 15000, polling: 5 });
    const [first, end50, end40] = await page.evaluate(
      (t) => [t, window.probe.speechEnd, window.probe.speechEnd40], await answered.jsonValue());
    const ms = first - end50;
    const ms40 = first - end40;
    results.push([ms, ms40]);
    console.log(`${basename(clip).padEnd(45)} ${ms.toFixed(0).padStart(7)} ms   (speech end at -40 dBFS: ${ms40.toFixed(0).padStart(5)} ms)`);
    await page.click('#hangup');
  } catch (e) {
    console.log(`${basename(clip).padEnd(45)}  no answer (${e.message.split('\n')[0]})`);
    code = 1;
  } finally {
    await page.close();
  }
}
await browser.close();

const summary = (title, values) => {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) return `${title}: none`;
  const p50 = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const p95 = v[Math.min(v.length - 1, Math.round(0.95 * (v.length - 1)))];
  return `${title}: n ${v.length} p50 ${p50.toFixed(0)} ms p95 ${p95.toFixed(0)} ms min ${v[0].toFixed(0)} max ${v.at(-1).toFixed(0)}`;
};
console.log(summary('voice-to-voice latency', results.map((r) => r[0])));
console.log(summary('  with speech end at -40 dBFS', results.map((r) => r[1])));
process.exit(code);

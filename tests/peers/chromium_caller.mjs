// Headless Chromium (apt `chromium`, npm `playwright-core`) calls callbot through its own
// "Call us" page: a wav file is the microphone; the page's Call button places the call. While
// the call lasts, a WebAudio AnalyserNode measures what the bot sends; then Hang up.
// Prints one JSON object: call id, transcript shown on the page, heard seconds and RMS.
//
// Usage: node chromium_caller.mjs --url http://127.0.0.1:8080 --wav /abs/clip.wav [--seconds 20] [--lang en]
// Run inside a loopback-only network namespace (tests/webrtc.rs does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const opts = { url: 'http://127.0.0.1:8080', wav: '', seconds: '20', lang: 'en' };
const argv = process.argv.slice(2);
for (let i = 0; i + 1 < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];

const profile = mkdtempSync(join(tmpdir(), 'callbot-chromium-'));
// launchPersistentContext, because launch() refuses --user-data-dir; a fresh profile each run.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${resolve(opts.wav)}`,
    // Without this a loopback-only namespace yields no ICE candidates at all.
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
let code = 1;
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.goto(`${opts.url}/?processing=off`);
  await page.selectOption('#lang', opts.lang);
  // Measure the remote audio as it plays: sum of squares over 20 ms analyser reads.
  await page.evaluate(() => {
    window.heard = { sumSq: 0, n: 0, loud: 0 };
    const remote = document.getElementById('remote');
    const start = () => {
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(remote.srcObject).connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      setInterval(() => {
        analyser.getFloatTimeDomainData(buf);
        let s = 0;
        for (const x of buf) s += x * x;
        window.heard.sumSq += s / buf.length;
        window.heard.n += 1;
        if (Math.sqrt(s / buf.length) > 0.01) window.heard.loud += 1;
      }, 20);
    };
    new MutationObserver(() => remote.srcObject && start()).observe(remote, { attributes: true });
    const set = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject').set;
    Object.defineProperty(remote, 'srcObject', {
      get() { return this._src; },
      set(v) { this._src = v; set.call(this, v); start(); },
    });
  });
  await page.click('#call');
  await page.waitForFunction(() => document.body.dataset.callId, null, { timeout: 15000 });
  await page.waitForTimeout(Number(opts.seconds) * 1000);
  const result = await page.evaluate(() => ({
    call_id: document.body.dataset.callId,
    transcript: document.getElementById('transcript').innerText,
    heard_seconds: window.heard.loud * 0.02,
    heard_rms: window.heard.n ? Math.sqrt(window.heard.sumSq / window.heard.n) : 0,
  }));
  await page.click('#hangup');
  await page.waitForTimeout(500);
  console.log(JSON.stringify(result));
  code = 0;
} catch (e) {
  console.error('chromium call failed:', e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);

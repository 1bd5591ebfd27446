//! espeak-ng as the default engine: one child process per utterance.
//!
//! The text goes in on stdin (`--stdin`: read whole before speaking; no shell, and a text
//! starting with '-' cannot be taken for an option), SSML is off (no `-m`), and the WAV that
//! `--stdout` writes is read by a producer thread as it arrives, so playback can start while the
//! rest is synthesized. Cancelling kills and reaps the process.

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Deserialize;

use super::stream::{Producer, TtsStream};
use super::wav::PcmDecoder;
use super::{Tts, TtsError, check_rate};
use crate::lang::Lang;

/// espeak-ng's limits for `-s` (words per minute) and `-p` (0-99).
const SPEED_RANGE: std::ops::RangeInclusive<u32> = 80..=450;
const PITCH_RANGE: std::ops::RangeInclusive<u32> = 0..=99;
/// What espeak-ng prints for a voice it does not have.
const NO_SUCH_VOICE: &str = "voice does not exist";
/// stderr kept for error messages; espeak-ng writes a line or two.
const MAX_STDERR: u64 = 16 * 1024;
/// Bytes read from the pipe at a time: espeak-ng's stdio writes 4 KiB blocks (93 ms of audio).
const READ_SIZE: usize = 8192;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EspeakConfig {
    /// The espeak-ng binary: a name looked up in `PATH`, or a path.
    pub program: PathBuf,
    pub en: VoiceConfig,
    pub zh: VoiceConfig,
}

impl Default for EspeakConfig {
    fn default() -> Self {
        Self { program: PathBuf::from("espeak-ng"), en: VoiceConfig::default(), zh: VoiceConfig::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// An espeak-ng voice (`espeak-ng --voices`), e.g. `en-us` or `en+f3`; `None` is the
    /// language's default: `en`, or `cmn-latn-pinyin` (Mandarin, Latin script read as pinyin).
    pub voice: Option<String>,
    /// Words per minute, 80 to 450.
    pub speed: u32,
    /// 0 to 99; 50 is the voice's own pitch.
    pub pitch: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        // 150 words a minute, slower than espeak-ng's 175: over the phone it is easier to
        // follow, and Whisper tiny.en hears it word for word where 175 loses words (the
        // round-trip test in tests/tts.rs).
        Self { voice: None, speed: 150, pitch: 50 }
    }
}

impl EspeakConfig {
    fn voice_config(&self, lang: Lang) -> &VoiceConfig {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }

    /// The espeak-ng voice name used for `lang`.
    pub fn voice(&self, lang: Lang) -> &str {
        let default = match lang {
            Lang::En => "en",
            Lang::Zh => "cmn-latn-pinyin",
        };
        self.voice_config(lang).voice.as_deref().unwrap_or(default)
    }

    fn validate(&self) -> Result<(), TtsError> {
        for lang in Lang::ALL {
            let (voice, settings) = (self.voice(lang), self.voice_config(lang));
            if voice.is_empty() || voice.starts_with('-') || voice.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(TtsError::Config(format!("{lang}: {voice:?} is not an espeak-ng voice name")));
            }
            if !SPEED_RANGE.contains(&settings.speed) {
                return Err(TtsError::Config(format!("{lang}: speed {} is outside {SPEED_RANGE:?}", settings.speed)));
            }
            if !PITCH_RANGE.contains(&settings.pitch) {
                return Err(TtsError::Config(format!("{lang}: pitch {} is outside {PITCH_RANGE:?}", settings.pitch)));
            }
        }
        Ok(())
    }
}

pub struct EspeakTts {
    config: EspeakConfig,
    version: String,
}

impl EspeakTts {
    /// Checks the configuration, that espeak-ng runs, and that it has each configured voice, so
    /// that a bad setup fails at start-up rather than on a caller's first prompt.
    pub fn new(config: EspeakConfig) -> Result<Self, TtsError> {
        config.validate()?;
        let output = run_quietly(Command::new(&config.program).arg("--version"), &config)?;
        if let Some(err) = failure(output.status, &output.stderr, &config, Lang::En) {
            return Err(err);
        }
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        for lang in Lang::ALL {
            // -q loads the voice without speaking: a cheap check of its existence.
            let voice = config.voice(lang);
            let output = run_quietly(Command::new(&config.program).args(["-q", "-v", voice, "x"]), &config)?;
            if let Some(err) = failure(output.status, &output.stderr, &config, lang) {
                return Err(err);
            }
        }
        tracing::debug!(%version, "espeak-ng ready");
        Ok(Self { config, version })
    }

    /// espeak-ng's `--version` line.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn config(&self) -> &EspeakConfig {
        &self.config
    }
}

impl Tts for EspeakTts {
    fn synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<TtsStream, TtsError> {
        check_rate(rate)?;
        if text.trim().is_empty() {
            return Ok(TtsStream::empty(rate));
        }
        let settings = self.config.voice_config(lang);
        let mut child = Command::new(&self.config.program)
            .args(["--stdout", "--stdin", "-b", "1", "-v", self.config.voice(lang)])
            .args(["-s", &settings.speed.to_string(), "-p", &settings.pitch.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(e, &self.config))?;
        let pid = child.id();
        tracing::debug!(pid, %lang, chars = text.chars().count(), rate, "espeak-ng started");
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            unreachable!("all three pipes were requested");
        };
        let child = Arc::new(Mutex::new(child));
        let job = Job {
            text: plain_text(&super::speakable::speakable(text)),
            stdin,
            stdout,
            stderr,
            child: Arc::clone(&child),
            rate,
            lang,
            config: self.config.clone(),
        };
        let stop = Box::new(move || kill_and_reap(&child));
        TtsStream::spawn(rate, "tts-espeak", Some(pid), stop, move |producer| job.run(&producer))
    }

    fn voice_key(&self, lang: Lang) -> String {
        let settings = self.config.voice_config(lang);
        format!("espeak-ng/{}/s{}/p{}", self.config.voice(lang), settings.speed, settings.pitch)
    }
}

/// What the producer thread needs for one utterance.
struct Job {
    text: String,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: std::process::ChildStderr,
    child: Arc<Mutex<Child>>,
    rate: u32,
    lang: Lang,
    config: EspeakConfig,
}

impl Job {
    fn run(self, producer: &Producer) {
        let Job { text, stdin, stdout, mut stderr, child, rate, lang, config } = self;
        let (reached_end, error) = match feed(stdin, &text) {
            Ok(()) => pump(stdout, rate, producer),
            Err(e) => (false, Some(e)),
        };
        if !reached_end {
            // Stopped early (an error, or the consumer went away): the process may be blocked
            // writing to the pipe, and waiting for it would hang.
            kill_and_reap(&child);
        }
        // Read after stdout closed: espeak-ng writes too little there to fill the pipe first.
        let mut err = Vec::new();
        let _ = (&mut stderr).take(MAX_STDERR).read_to_end(&mut err);
        let status = child.lock().unwrap_or_else(PoisonError::into_inner).wait();
        if producer.is_cancelled() {
            return;
        }
        let error = match status {
            // Only a process that ended by itself has a status worth reporting, and then it
            // explains a failure better than what the failure did to the audio.
            Ok(status) if reached_end => failure(status, &err, &config, lang).or(error),
            Ok(_) => error,
            Err(source) => Some(TtsError::Io { context: "cannot wait for espeak-ng".into(), source }),
        };
        if let Some(e) = error {
            tracing::debug!(error = %e, "espeak-ng synthesis failed");
            producer.send(Err(e));
        }
    }
}

/// Writes the text and closes stdin, which tells espeak-ng the text is complete.
fn feed(mut stdin: ChildStdin, text: &str) -> Result<(), TtsError> {
    match stdin.write_all(text.as_bytes()) {
        // The process exited early (e.g. a missing voice): its exit status says why.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(TtsError::Io { context: "cannot write the text to espeak-ng".into(), source }),
        Ok(()) => Ok(()),
    }
}

/// Reads the WAV stream, sending audio as it comes. Returns whether it read to the end of the
/// stream (not if the consumer went away or reading failed), and the error that stopped it.
fn pump(mut stdout: ChildStdout, rate: u32, producer: &Producer) -> (bool, Option<TtsError>) {
    let mut decoder = PcmDecoder::new(rate);
    let mut buf = vec![0u8; READ_SIZE];
    let mut out = Vec::new();
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(source) => {
                return (false, Some(TtsError::Io { context: "cannot read audio from espeak-ng".into(), source }));
            }
        };
        if let Err(e) = decoder.push(&buf[..n], &mut out) {
            return (false, Some(e));
        }
        if !out.is_empty() && !producer.send(Ok(std::mem::take(&mut out))) {
            return (false, None);
        }
    }
    if let Err(e) = decoder.finish(&mut out) {
        return (true, Some(e));
    }
    let sent = out.is_empty() || producer.send(Ok(out));
    (sent, None)
}

fn kill_and_reap(child: &Mutex<Child>) {
    let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
    // Both are no-ops on a process already reaped (std remembers its status), so there is no
    // risk of signalling a recycled pid.
    let _ = child.kill();
    let _ = child.wait();
}

/// The text as espeak-ng should read it, literally: control characters (which C code may take
/// as the end of the text or as embedded commands) become spaces, and `[[`, which espeak-ng
/// reads as the start of raw phoneme input, is split.
fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '[' && out.ends_with('[') {
            out.push(' ');
        }
        out.push(if c.is_control() && c != '\n' && c != '\t' { ' ' } else { c });
    }
    out
}

fn run_quietly(command: &mut Command, config: &EspeakConfig) -> Result<std::process::Output, TtsError> {
    command.stdin(Stdio::null()).output().map_err(|e| spawn_error(e, config))
}

fn spawn_error(e: std::io::Error, config: &EspeakConfig) -> TtsError {
    if e.kind() == ErrorKind::NotFound {
        tracing::debug!(program = %config.program.display(), "espeak-ng not found");
        TtsError::NotInstalled
    } else {
        TtsError::Io { context: format!("cannot run {}", config.program.display()), source: e }
    }
}

/// The error a finished process stands for, if it failed.
fn failure(status: ExitStatus, stderr: &[u8], config: &EspeakConfig, lang: Lang) -> Option<TtsError> {
    if status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(stderr).trim().to_string();
    if stderr.contains(NO_SUCH_VOICE) {
        return Some(TtsError::UnknownVoice { voice: config.voice(lang).to_string(), lang });
    }
    let stderr = if stderr.is_empty() { "no error output".to_string() } else { stderr };
    Some(TtsError::Process { program: config.program.display().to_string(), status: status.to_string(), stderr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn engine() -> EspeakTts {
        EspeakTts::new(EspeakConfig::default()).expect("espeak-ng is installed")
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    /// The process's state letter from /proc (`Z` for a zombie), or `None` once it is reaped.
    fn process_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
    }

    /// About 30 s of speech: far more than the channel and the pipe hold together (~7 s).
    fn long_text() -> String {
        "The quick brown fox jumps over the lazy dog, and the dog does not mind at all. ".repeat(8)
    }

    #[test]
    fn english_sounds_like_speech() {
        let audio = engine().synthesize_all("Hello, this is the callbot test", Lang::En, 16000).expect("speaks");
        let secs = audio.len() as f64 / 16000.0;
        assert!((0.5..5.0).contains(&secs), "{secs} s");
        assert!(rms(&audio) > 0.02, "RMS {}", rms(&audio));
        assert!(audio.iter().all(|s| s.abs() <= 1.0));
    }

    #[test]
    fn mandarin_is_read_as_chinese() {
        let audio = engine().synthesize_all("您好，欢迎致电", Lang::Zh, 8000).expect("speaks");
        // Seven syllables; text mangled on the way in would come out as silence or a few sounds.
        let secs = audio.len() as f64 / 8000.0;
        assert!(secs > 1.0 && rms(&audio) > 0.02, "{secs} s, RMS {}", rms(&audio));
    }

    #[test]
    fn audio_streams_while_espeak_is_still_running() {
        let tts = engine();
        let mut stream = tts.synthesize(&long_text(), Lang::En, 16000).expect("starts");
        let pid = stream.process_id().expect("a process");
        let first = stream.next().expect("a chunk").expect("audio");
        assert!(!first.is_empty());
        assert!(
            matches!(process_state(pid), Some(s) if s != 'Z'),
            "espeak-ng finished before the first chunk was taken"
        );
        let mut chunks = 1;
        let mut total = first.len();
        for chunk in &mut stream {
            total += chunk.expect("audio").len();
            chunks += 1;
        }
        assert!(chunks > 10, "{chunks} chunks");
        assert_eq!(process_state(pid), None, "reaped at the end");
        let whole = tts.synthesize_all(&long_text(), Lang::En, 16000).expect("speaks");
        assert!(whole.len() > 20 * 16000, "{} samples", whole.len());
        assert!(total.abs_diff(whole.len()) <= 16, "streamed {total}, whole {}", whole.len());
    }

    #[test]
    fn cancel_kills_and_reaps_at_once() {
        // Also a very long text: ~200 KB through stdin, far beyond a pipe's buffer.
        let text = long_text().repeat(25);
        let mut stream = engine().synthesize(&text, Lang::En, 8000).expect("starts");
        let pid = stream.process_id().expect("a process");
        assert!(stream.next().expect("a chunk").is_ok());
        let start = Instant::now();
        stream.cancel();
        assert!(start.elapsed() < Duration::from_millis(500), "cancel took {:?}", start.elapsed());
        assert_eq!(process_state(pid), None, "killed and reaped");
        assert!(stream.next().is_none());

        // Dropped mid-stream, or cancelled from another thread: the same.
        let mut stream = engine().synthesize(&long_text(), Lang::En, 8000).expect("starts");
        let pid = stream.process_id().expect("a process");
        assert!(stream.next().expect("a chunk").is_ok());
        drop(stream);
        assert_eq!(process_state(pid), None, "reaped on drop");
        let mut stream = engine().synthesize(&long_text(), Lang::En, 8000).expect("starts");
        let pid = stream.process_id().expect("a process");
        assert!(stream.next().expect("a chunk").is_ok());
        let canceller = stream.canceller();
        std::thread::spawn(move || canceller.cancel()).join().expect("cancels");
        assert_eq!(process_state(pid), None, "reaped by the other thread");
        assert!(stream.next().is_none());
    }

    #[test]
    fn blank_text_is_empty_audio_without_a_process() {
        let tts = engine();
        for text in ["", "  \n\t "] {
            let stream = tts.synthesize(text, Lang::En, 16000).expect("empty");
            assert_eq!(stream.process_id(), None);
            assert!(stream.read_all().expect("empty").is_empty());
        }
    }

    #[test]
    fn text_is_read_literally() {
        let tts = engine();
        // Option-like, SSML-like, phoneme-input-like, and control characters: all just text.
        for text in ["-v xx --help", "--stdin", "<speak><break time=\"9s\"/>Hi</speak>", "[[h@loU]] there", "a\0b\x01c"]
        {
            let audio = tts.synthesize_all(text, Lang::En, 8000).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(audio.len() > 1600, "{text:?}: {} samples", audio.len());
        }
        assert_eq!(plain_text("[[a]] [[[b\0c\n"), "[ [a]] [ [ [b c\n");
    }

    #[test]
    fn setup_errors_are_clear() {
        let config = |f: fn(&mut EspeakConfig)| {
            let mut config = EspeakConfig::default();
            f(&mut config);
            EspeakTts::new(config).err().expect("refused")
        };
        let missing = config(|c| c.program = "/nonexistent/espeak-ng".into());
        assert!(matches!(missing, TtsError::NotInstalled), "{missing}");
        let broken = config(|c| c.program = "false".into());
        assert!(matches!(broken, TtsError::Process { .. }), "{broken}");
        let voice = config(|c| c.zh.voice = Some("xx-nope".into()));
        assert!(matches!(&voice, TtsError::UnknownVoice { voice, lang: Lang::Zh } if voice == "xx-nope"), "{voice}");
        let speed = config(|c| c.en.speed = 10);
        assert!(matches!(speed, TtsError::Config(_)) && speed.to_string().contains("speed 10"), "{speed}");
        let pitch = config(|c| c.en.pitch = 100);
        assert!(matches!(pitch, TtsError::Config(_)), "{pitch}");
        let name = config(|c| c.en.voice = Some("-x".into()));
        assert!(matches!(name, TtsError::Config(_)), "{name}");
    }

    #[test]
    fn runtime_errors_come_through_the_stream() {
        let tts = engine();
        assert!(matches!(tts.synthesize("hi", Lang::En, 7999), Err(TtsError::BadRate(7999))));
        // A voice that vanished after start-up (built without `new`'s checks).
        let mut config = EspeakConfig::default();
        config.en.voice = Some("xx-gone".into());
        let tts = EspeakTts { config, version: String::new() };
        let err = tts.synthesize_all("hello", Lang::En, 8000).expect_err("no voice");
        assert!(matches!(err, TtsError::UnknownVoice { lang: Lang::En, .. }), "{err}");
    }

    #[test]
    fn config_deserializes_with_per_language_defaults() {
        let config: EspeakConfig = serde_json::from_str(r#"{"zh": {"speed": 175}}"#).expect("parses");
        assert_eq!(config.voice(Lang::Zh), "cmn-latn-pinyin");
        assert_eq!(config.voice(Lang::En), "en");
        assert_eq!((config.zh.speed, config.zh.pitch, config.en.speed), (175, 50, 150));
        assert!(serde_json::from_str::<EspeakConfig>(r#"{"en": {"sped": 150}}"#).is_err());
        let tts = EspeakTts::new(config).expect("valid");
        assert_ne!(tts.voice_key(Lang::Zh), engine().voice_key(Lang::Zh));
        assert_eq!(tts.voice_key(Lang::En), engine().voice_key(Lang::En));
        assert!(tts.version().contains("eSpeak NG"), "{}", tts.version());
    }

    #[test]
    fn shared_engine_serves_threads_at_once() {
        let tts: Arc<dyn Tts> = Arc::new(engine());
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let tts = Arc::clone(&tts);
                std::thread::spawn(move || tts.synthesize_all(&format!("Caller number {i}."), Lang::En, 48000))
            })
            .collect();
        for thread in threads {
            assert!(!thread.join().expect("joins").expect("speaks").is_empty());
        }
    }
}

//! A caller's side of an in-memory media link: one call driven by the real call driver, its
//! speech paced out as PCMU RTP, 20 ms a packet.

use std::sync::Arc;
use std::time::Duration;

use callbot::call::Channel;
use callbot::call::driver::{CallControl, CallEnd, CallServices, MediaLink, run_call};
use callbot::call::pipeline::MediaFormat;
use callbot::call::registry::CallInfo;
use callbot::lang::Lang;
use callbot::media::codec::{AudioEncoder, Codec};
use callbot::rtp::packet::RtpHeader;
use tokio::sync::mpsc;

/// A running call and the caller's ends of its links.
pub struct TestCall {
    /// RTP to the bot.
    pub inbound: mpsc::Sender<Vec<u8>>,
    /// RTP (and RTCP, when asked for) from the bot.
    pub outbound: mpsc::Receiver<Vec<u8>>,
    pub control: mpsc::Sender<CallControl>,
    pub handle: tokio::task::JoinHandle<CallEnd>,
}

/// Starts an English PCMU call `id` on `services`; `rtcp`: the call sends RTCP reports.
pub fn start(services: &Arc<CallServices>, id: &str, rtcp: bool) -> TestCall {
    let (inbound, in_rx) = mpsc::channel(64);
    let (out_tx, outbound) = mpsc::channel(64);
    let (control, ctl_rx) = mpsc::channel(4);
    let format = MediaFormat { codec: Codec::Pcmu, payload_type: 0, dtmf_payload_type: Some(101) };
    let link = MediaLink { format, inbound: in_rx, outbound: out_tx, rtcp };
    let info =
        CallInfo { id: id.into(), channel: Channel::Sip, caller: "test".into(), callee: "shop".into(), lang: Lang::En };
    let today = chrono::Local::now().date_naive();
    let handle = tokio::spawn(run_call(info, Arc::clone(services), link, ctl_rx, today, 1));
    TestCall { inbound, outbound, control, handle }
}

/// A recording at 8 kHz, mono.
pub fn audio_8k(path: &str) -> Vec<f32> {
    let audio = callbot::media::decode::decode_file(std::path::Path::new(path)).expect("recording decodes");
    callbot::media::resample::resample(&audio.samples, audio.sample_rate, 8000).expect("resamples")
}

/// Sends `speech` (8 kHz) in real time; returns the sender when done, so the link stays open.
pub fn send_paced(speech: Vec<f32>, tx: mpsc::Sender<Vec<u8>>) -> tokio::task::JoinHandle<mpsc::Sender<Vec<u8>>> {
    tokio::spawn(async move {
        let mut enc = AudioEncoder::new(Codec::Pcmu).expect("encoder");
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for (i, frame) in speech.chunks(160).enumerate() {
            tick.tick().await;
            let mut payload = Vec::new();
            enc.encode(frame, &mut payload).expect("encodes");
            let header = RtpHeader {
                payload_type: 0,
                sequence: i as u16,
                timestamp: 160 * i as u32,
                ssrc: 42,
                marker: i == 0,
                ..RtpHeader::default()
            };
            let mut dgram = Vec::new();
            header.write(&mut dgram).expect("header");
            dgram.extend_from_slice(&payload);
            if tx.send(dgram).await.is_err() {
                break;
            }
        }
        tx
    })
}

//! A caller's side of an in-memory media link: speech paced out as PCMU RTP, 20 ms a packet.

use std::time::Duration;

use callbot::media::codec::{AudioEncoder, Codec};
use callbot::rtp::packet::RtpHeader;
use tokio::sync::mpsc;

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

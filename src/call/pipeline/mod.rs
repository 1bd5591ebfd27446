//! One call's media pipeline, the same for every transport (sans-IO).
//!
//! In: RTP packets of the caller (any order, some lost, some telephone-events) with their arrival
//! time. Every 20 ms [`MediaPipeline::tick`] hands out 20 ms of the caller's audio at 16 kHz
//! for the recogniser (jitter buffer → decode or conceal → resample), and the next RTP packet
//! of the bot's speech, if it is speaking (playout → encode → packetize).
//! The caller's audio keeps flowing as silence when their packets pause (silence suppression),
//! so that endpointing still sees the end of an utterance.

pub mod playout;

use crate::asr::SAMPLE_RATE;
use crate::media::codec::{AudioDecoder, AudioEncoder, Codec, CodecError};
use crate::media::resample::{ResampleError, StreamResampler};
use crate::rtp::dtmf::DtmfDetector;
use crate::rtp::jitter::{Frame, JitterBuffer, JitterConfig};
use crate::rtp::packet::{PacketKind, RtpPacket, classify};
use crate::rtp::sender::{RtpSender, SenderConfig, SenderError};
pub use playout::{PlaybackEvent, Playout};

/// What was negotiated for the call's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFormat {
    pub codec: Codec,
    pub payload_type: u8,
    pub dtmf_payload_type: Option<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("RTP: {0}")]
    Packet(#[from] crate::rtp::packet::PacketError),
    #[error("payload type {0} was not negotiated")]
    UnknownPayload(u8),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("telephone-event: {0}")]
    Dtmf(#[from] crate::rtp::dtmf::DtmfError),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error(transparent)]
    Sender(#[from] SenderError),
}

/// What one received datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Audio,
    Digit(char),
    /// A telephone-event packet that adds nothing new (a repeat or continuation).
    Event,
    /// RTCP or something else on the port: fine, but not audio.
    Other,
}

#[derive(Debug, Default)]
pub struct Tick {
    /// 20 ms of the caller at 16 kHz (fewer samples at the very start: resampler delay).
    pub pcm16k: Vec<f32>,
    /// The bot's next packet, if it is speaking.
    pub rtp: Option<Vec<u8>>,
    pub playback: Vec<PlaybackEvent>,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct MediaStats {
    pub packets_in: u64,
    pub packets_bad: u64,
    pub frames_lost: u64,
    pub packets_out: u64,
}

pub struct MediaPipeline {
    format: MediaFormat,
    jitter: JitterBuffer,
    decoder: AudioDecoder,
    encoder: AudioEncoder,
    dtmf: DtmfDetector,
    to_asr: StreamResampler,
    sender: RtpSender,
    playout: Playout,
    sending: bool,
    last_packet_ms: Option<u64>,
    stats: MediaStats,
    decoded: Vec<f32>,
}

impl MediaPipeline {
    pub fn new(format: MediaFormat, seed: u64) -> Result<Self, PipelineError> {
        let codec = format.codec;
        let jitter = JitterBuffer::new(JitterConfig { clock_rate: codec.clock_rate(), ..JitterConfig::default() });
        let sender_cfg = SenderConfig { payload_type: format.payload_type, clock_rate: codec.clock_rate(), frame_ms: 20 };
        Ok(Self {
            format,
            jitter,
            decoder: AudioDecoder::new(codec)?,
            encoder: AudioEncoder::new(codec)?,
            dtmf: DtmfDetector::new(),
            to_asr: StreamResampler::new(codec.sample_rate(), SAMPLE_RATE)?,
            sender: RtpSender::new(sender_cfg, seed)?,
            playout: Playout::default(),
            sending: false,
            last_packet_ms: None,
            stats: MediaStats::default(),
            decoded: Vec::new(),
        })
    }

    pub fn format(&self) -> MediaFormat {
        self.format
    }

    /// Where the bot's speech waits to be sent.
    pub fn playout(&mut self) -> &mut Playout {
        &mut self.playout
    }

    /// When the caller's last RTP packet arrived (for the inactivity timeout).
    pub fn last_packet_ms(&self) -> Option<u64> {
        self.last_packet_ms
    }

    pub fn stats(&self) -> MediaStats {
        self.stats
    }

    /// Takes one datagram from the caller's media port. Errors are per packet: the caller
    /// counts them and carries on.
    pub fn receive(&mut self, now_ms: u64, datagram: &[u8]) -> Result<Received, PipelineError> {
        if classify(datagram) != PacketKind::Rtp {
            return Ok(Received::Other);
        }
        let packet = RtpPacket::parse(datagram).inspect_err(|_| self.stats.packets_bad += 1)?;
        self.receive_packet(now_ms, &packet)
    }

    pub fn receive_packet(&mut self, now_ms: u64, packet: &RtpPacket<'_>) -> Result<Received, PipelineError> {
        let h = &packet.header;
        self.last_packet_ms = Some(now_ms);
        if Some(h.payload_type) == self.format.dtmf_payload_type {
            self.stats.packets_in += 1;
            return match self.dtmf.push(h.timestamp, h.marker, packet.payload) {
                Ok(Some(d)) => Ok(Received::Digit(d.digit)),
                Ok(None) => Ok(Received::Event),
                Err(e) => {
                    self.stats.packets_bad += 1;
                    Err(e.into())
                }
            };
        }
        if h.payload_type != self.format.payload_type {
            // Comfort noise (13) and the like: not an error worth more than a count.
            self.stats.packets_bad += 1;
            return Err(PipelineError::UnknownPayload(h.payload_type));
        }
        self.stats.packets_in += 1;
        self.jitter.push(h.sequence, h.timestamp, packet.payload, now_ms);
        Ok(Received::Audio)
    }

    /// One 20 ms step: the caller's audio for the recogniser, the bot's next packet.
    pub fn tick(&mut self, now_ms: u64) -> Tick {
        let mut tick = Tick::default();
        self.decoded.clear();
        let frame = self.format.codec.frame_samples();
        match self.jitter.pop(now_ms) {
            Frame::Audio(payload) => {
                if self.decoder.decode(&payload, &mut self.decoded).is_err() {
                    self.stats.packets_bad += 1;
                    self.decoder.conceal(&mut self.decoded);
                }
            }
            Frame::Lost => {
                self.stats.frames_lost += 1;
                match self.jitter.next_payload() {
                    Some(next) => self.decoder.recover(next, &mut self.decoded),
                    None => self.decoder.conceal(&mut self.decoded),
                }
            }
            Frame::Nothing => self.decoded.resize(frame, 0.0),
        }
        self.to_asr.push(&self.decoded, &mut tick.pcm16k);

        match self.playout.next_frame(frame, &mut tick.playback) {
            Some(pcm) => {
                let mut payload = Vec::with_capacity(frame);
                if self.encoder.encode(&pcm, &mut payload).is_ok() {
                    tick.rtp = Some(self.sender.packetize(now_ms, &payload));
                    self.stats.packets_out += 1;
                    self.sending = true;
                }
            }
            None if self.sending => {
                self.sender.end_talkspurt();
                self.sending = false;
            }
            None => {}
        }
        tick
    }
}

#[cfg(test)]
mod tests;

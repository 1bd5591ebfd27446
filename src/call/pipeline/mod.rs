//! One call's media pipeline, the same for every transport (sans-IO).
//!
//! In: RTP packets of the caller (any order, some lost, some telephone-events) with their arrival
//! time. The caller's audio for the recogniser (jitter buffer → decode or conceal → resample to
//! 16 kHz) is handed out as soon as it can be: a packet that arrives in sequence is decoded at
//! once ([`MediaPipeline::take_heard`]), not at its turn in the jitter buffer's even pace, since
//! the recogniser is no loudspeaker and every millisecond here delays the bot's answer. Missing
//! frames are still waited for and concealed at their turn. Every 20 ms [`MediaPipeline::tick`]
//! does that concealment, hands out what is pending, and gives the next RTP packet of the bot's
//! speech, if it is speaking (playout → encode → packetize).
//! The caller's audio keeps flowing as silence when their packets pause (silence suppression),
//! so that endpointing still sees the end of an utterance.
//!
//! RTCP: every RTP packet of the caller's feeds the call's [`RtcpSession`], and RTCP datagrams
//! on the media port go to it too. When a report is due, the tick carries the media-quality
//! figures and, if this pipeline sends reports ([`MediaPipeline::with_rtcp_reports`], SIP; not
//! WebRTC, whose stack runs its own RTCP), the compound RTCP packet. [`MediaPipeline::close`]
//! gives the BYE and the final figures.

pub mod playout;

use crate::asr::SAMPLE_RATE;
use crate::media::codec::{AudioDecoder, AudioEncoder, Codec, CodecError};
use crate::media::resample::{ResampleError, StreamResampler};
use crate::rtp::dtmf::DtmfDetector;
use crate::rtp::jitter::{Frame, JitterBuffer, JitterConfig};
use crate::rtp::packet::{PacketKind, RtpPacket, classify};
use crate::rtp::rtcp::{MediaQuality, RtcpConfig, RtcpError, RtcpSession, Sending};
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
    #[error("RTCP: {0}")]
    Rtcp(#[from] RtcpError),
}

/// What one received datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Audio,
    Digit(char),
    /// A telephone-event packet that adds nothing new (a repeat or continuation).
    Event,
    /// RTCP (read for the statistics) or something else on the port: fine, but not audio.
    Other,
}

#[derive(Debug, Default)]
pub struct Tick {
    /// The caller at 16 kHz not yet handed out: what this tick concealed or filled with silence,
    /// and what came in behind it (fewer samples at the very start: resampler delay).
    pub pcm16k: Vec<f32>,
    /// The bot's next packet, if it is speaking.
    pub rtp: Option<Vec<u8>>,
    pub playback: Vec<PlaybackEvent>,
    /// A compound RTCP report for the caller, when one is due and we send reports.
    pub rtcp: Option<Vec<u8>>,
    /// The call's media figures, at each report time (whether or not we send reports).
    pub quality: Option<MediaQuality>,
}

/// What the pipeline leaves behind when the call ends.
#[derive(Debug)]
pub struct Closing {
    /// Our RTCP BYE, if we send reports and took part in the session.
    pub bye: Option<Vec<u8>>,
    pub quality: MediaQuality,
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
    rtcp: RtcpSession,
    rtcp_seed: u64,
    playout: Playout,
    sending: bool,
    last_packet_ms: Option<u64>,
    stats: MediaStats,
    decoded: Vec<f32>,
    /// The caller at 16 kHz, decoded but not yet handed to the recogniser.
    heard: Vec<f32>,
}

impl MediaPipeline {
    pub fn new(format: MediaFormat, seed: u64) -> Result<Self, PipelineError> {
        let codec = format.codec;
        let jitter = JitterBuffer::new(JitterConfig { clock_rate: codec.clock_rate(), ..JitterConfig::default() });
        let sender_cfg =
            SenderConfig { payload_type: format.payload_type, clock_rate: codec.clock_rate(), frame_ms: 20 };
        let sender = RtpSender::new(sender_cfg, seed)?;
        // A seed of its own, so the report times and CNAME do not repeat the SSRC's draws.
        let rtcp_seed = seed ^ 0x5254_4350_5254_4350;
        let rtcp = RtcpSession::new(rtcp_config(codec, 0, false), sender.ssrc(), rtcp_seed);
        Ok(Self {
            format,
            jitter,
            decoder: AudioDecoder::new(codec)?,
            encoder: AudioEncoder::new(codec)?,
            dtmf: DtmfDetector::new(),
            to_asr: StreamResampler::new(codec.sample_rate(), SAMPLE_RATE)?,
            sender,
            rtcp,
            rtcp_seed,
            playout: Playout::default(),
            sending: false,
            last_packet_ms: None,
            stats: MediaStats::default(),
            decoded: Vec::new(),
            heard: Vec::new(),
        })
    }

    /// Send RTCP reports and a BYE for this call (the transport leaves RTCP to us: SIP).
    /// `ntp_at_start` is the wall clock's NTP time at the call's millisecond 0.
    pub fn with_rtcp_reports(mut self, ntp_at_start: u64) -> Self {
        let config = rtcp_config(self.format.codec, ntp_at_start, true);
        self.rtcp = RtcpSession::new(config, self.sender.ssrc(), self.rtcp_seed);
        self
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

    /// The call's media-quality figures so far.
    pub fn quality(&self) -> MediaQuality {
        self.rtcp.quality(&self.sending())
    }

    /// The media session ends: our RTCP BYE (once) and the final figures.
    pub fn close(&mut self, now_ms: u64, reason: &str) -> Closing {
        let sending = self.sending();
        Closing { bye: self.rtcp.bye(now_ms, &sending, reason), quality: self.rtcp.quality(&sending) }
    }

    fn sending(&self) -> Sending {
        let s = &self.sender;
        Sending {
            packets: s.packets_sent(),
            octets: s.octets_sent(),
            last: s.last_sent_ms().map(|at| (s.timestamp(), at)),
        }
    }

    /// Takes one datagram from the caller's media port. Errors are per packet: the caller
    /// counts them and carries on.
    pub fn receive(&mut self, now_ms: u64, datagram: &[u8]) -> Result<Received, PipelineError> {
        match classify(datagram) {
            PacketKind::Rtp => {}
            PacketKind::Rtcp { .. } => {
                self.rtcp.on_rtcp(now_ms, datagram)?;
                return Ok(Received::Other);
            }
            PacketKind::Other => return Ok(Received::Other),
        }
        let packet = RtpPacket::parse(datagram).inspect_err(|_| self.stats.packets_bad += 1)?;
        self.receive_packet(now_ms, &packet)
    }

    pub fn receive_packet(&mut self, now_ms: u64, packet: &RtpPacket<'_>) -> Result<Received, PipelineError> {
        let h = &packet.header;
        self.last_packet_ms = Some(now_ms);
        // Every payload type counts: audio, events and comfort noise share one sequence space.
        self.rtcp.on_rtp(now_ms, h.ssrc, h.sequence, h.timestamp);
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
        self.decode_ready();
        Ok(Received::Audio)
    }

    /// The caller's audio decoded since the last call (or tick), at 16 kHz, for the recogniser.
    pub fn take_heard(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.heard)
    }

    /// Decodes the frames the jitter buffer can give ahead of their turn.
    fn decode_ready(&mut self) {
        for payload in self.jitter.take_ready() {
            self.decoded.clear();
            self.decode(&payload);
            self.to_asr.push(&self.decoded, &mut self.heard);
        }
    }

    /// Decodes one frame into `decoded`; a frame that does not decode is concealed.
    fn decode(&mut self, payload: &[u8]) {
        if self.decoder.decode(payload, &mut self.decoded).is_err() {
            self.stats.packets_bad += 1;
            self.decoder.conceal(&mut self.decoded);
        }
    }

    /// One 20 ms step: the caller's audio for the recogniser, the bot's next packet.
    pub fn tick(&mut self, now_ms: u64) -> Tick {
        let mut tick = Tick::default();
        self.decoded.clear();
        let frame = self.format.codec.frame_samples();
        match self.jitter.pop(now_ms) {
            Frame::Audio(payload) => self.decode(&payload),
            Frame::Lost => {
                self.stats.frames_lost += 1;
                match self.jitter.next_payload() {
                    Some(next) => self.decoder.recover(next, &mut self.decoded),
                    None => self.decoder.conceal(&mut self.decoded),
                }
            }
            Frame::Nothing => self.decoded.resize(frame, 0.0),
            Frame::Delivered => {} // decoded when it came
        }
        self.to_asr.push(&self.decoded, &mut self.heard);
        // Frames held back behind one concealed just now can go too.
        self.decode_ready();
        tick.pcm16k = self.take_heard();

        self.send_frame(now_ms, &mut tick);

        if now_ms >= self.rtcp.next_report_ms() {
            let sending = self.sending();
            tick.rtcp = self.rtcp.poll_report(now_ms, &sending);
            tick.quality = Some(self.rtcp.quality(&sending));
        }
        tick
    }

    /// Starts a talkspurt now, between ticks, when the bot has audio ready and is silent: the
    /// caller hears the answer up to a tick (20 ms) sooner. The talkspurt then goes on one
    /// frame per tick; the caller's jitter buffer absorbs the one frame it is ahead.
    pub fn start_talkspurt(&mut self, now_ms: u64) -> Tick {
        let mut tick = Tick::default();
        if !self.sending {
            self.send_frame(now_ms, &mut tick);
        }
        tick
    }

    /// The bot's next 20 ms frame, if one is ready, out as RTP.
    fn send_frame(&mut self, now_ms: u64, tick: &mut Tick) {
        let frame = self.format.codec.frame_samples();
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
    }
}

fn rtcp_config(codec: Codec, ntp_at_start: u64, send_reports: bool) -> RtcpConfig {
    // RFC 3550 §6.2 takes the RTCP share from the session bandwidth: the codec's bit rate plus
    // 16 kbit/s of IP/UDP/RTP headers at 50 packets a second.
    let session_bandwidth_bps = match codec {
        Codec::Pcmu | Codec::Pcma => 64_000 + 16_000,
        Codec::Opus => 24_000 + 16_000, // our encoder's target (media::opus)
    };
    RtcpConfig { clock_rate: codec.clock_rate(), session_bandwidth_bps, ntp_at_start, send_reports }
}

#[cfg(test)]
mod tests;

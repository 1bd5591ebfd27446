//! Per-call jitter buffer: RTP packets in, one frame per `pop` out, in sequence order.
//!
//! The caller pushes packets as they arrive and pops on its own frame clock (every `frame_ms`),
//! passing the time both ways in milliseconds of one monotonic clock. Each pop answers with:
//! - `Audio(payload)`: the next frame in sequence;
//! - `Lost`: a frame is due but missing; the caller conceals it (see [`crate::rtp::plc`]);
//! - `Nothing`: not primed yet (call start, or the stream paused), so there is nothing to conceal.
//!
//! Policy, in order of what happens to a call:
//! - Priming: the first packet waits until it has been held for the target depth, or until packets
//!   spanning that depth are buffered; play starts at the oldest.
//! - Playing: a missing frame with later frames buffered is `Lost` (its turn has come); it is
//!   counted late if it shows up afterwards. With nothing buffered (an underrun) the buffer holds
//!   its place and answers `Lost`, so a delayed packet still plays when it comes: the delay grows by
//!   a frame. While the buffer is deeper than the target by over two frames, one frame is dropped per pop
//!   until it is not: the delay shrinks. The target follows the RFC 3550 interarrival jitter estimate.
//! - Silence: when nothing has arrived for `max_conceal_ms`, the stream has paused (silence
//!   suppression, hold); pops answer `Nothing` and the next packets prime again. A packet that starts
//!   a talk-spurt (its timestamp jumps ahead of its sequence number) also primes again if it finds the
//!   buffer empty, so each talk-spurt starts with the target depth.
//! - Restarts: a sequence number far from the stream's (RFC 3550 A.1 limits) is held on probation;
//!   if the next packet follows it, the stream restarted: the buffer is flushed and primes again.
//!   A timestamp that jumps by over a second against the arrival clock restarts the jitter estimate.
//!
//! - Early delivery: a listener that is not a loudspeaker (the recogniser) needs each frame as soon
//!   as it can be had, not at an even pace. [`JitterBuffer::take_ready`] hands out, while playing,
//!   the frames that are here in unbroken sequence from the play position; their turns still come
//!   at `pop`, which answers `Delivered` for them. A missing frame is waited for and concealed at
//!   its turn exactly as without early delivery, so the same audio comes out in the same order,
//!   only sooner (frames `pop` drops to shrink the delay were already given: nothing is dropped).
//!
//! Sequence numbers and timestamps are unwrapped to 64 bits, so wrap-around is ordinary arithmetic.
//! Assumes one frame of `frame_ms` per packet, as G.711 telephony sends.

use std::collections::BTreeMap;

/// RFC 3550 A.1: a jump ahead of more than this many packets is not loss but a new sequence.
const MAX_DROPOUT: i64 = 3000;
/// RFC 3550 A.1: a packet this far behind the newest is not reordering but a new sequence.
const MAX_MISORDER: i64 = 100;
/// A transit-time change this large is a new timing reference (restart, clock jump), not jitter.
const TIMING_RESET_MS: f64 = 1000.0;
/// How many played sequence numbers are remembered to tell duplicates from late packets.
const HISTORY: i64 = 128;
/// The target follows the jitter estimate up at once and down slowly: the peak it sizes for
/// decays by this factor per packet (a time constant of about 10 s at 50 packets a second),
/// so one calm second after a spike does not shrink the buffer back into the next one.
const PEAK_DECAY: f64 = 0.998;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate (8000 for G.711).
    pub clock_rate: u32,
    /// Audio per packet and per `pop`.
    pub frame_ms: u32,
    /// Bounds for the adaptive target depth.
    pub min_depth_ms: u32,
    pub max_depth_ms: u32,
    /// How long after the last arrival an empty buffer is still concealed (`Lost`) rather than
    /// taken as a paused stream (`Nothing`).
    pub max_conceal_ms: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self { clock_rate: 8000, frame_ms: 20, min_depth_ms: 40, max_depth_ms: 200, max_conceal_ms: 200 }
    }
}

/// What the caller plays for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Audio(Vec<u8>),
    Lost,
    Nothing,
    /// This frame's turn, but [`JitterBuffer::take_ready`] already handed it out.
    Delivered,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JitterStats {
    /// Every packet pushed, whatever became of it.
    pub received: u64,
    /// Sequence numbers never received in time: played as `Lost` or skipped over.
    pub lost: u64,
    /// Packets that arrived after their turn had passed; dropped.
    pub late: u64,
    /// Copies of packets already buffered or played; dropped.
    pub duplicate: u64,
    /// Packets that arrived after a packet with a higher sequence number (and were still in time).
    pub reordered: u64,
    /// Packets dropped to shrink the delay, to bound memory, or by a restart's flush.
    pub dropped: u64,
    /// Pops that found the buffer empty mid-stream and answered `Lost` while holding their place.
    pub underruns: u64,
    /// Stream restarts detected (sequence-number jumps confirmed by a following packet).
    pub resyncs: u64,
    /// Audio buffered from the next frame to play to the newest packet.
    pub depth_ms: u32,
    /// Depth the buffer primes to and drains back to.
    pub target_ms: u32,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for depth; `since_ms` is the arrival of the first packet buffered while priming.
    Priming {
        since_ms: Option<u64>,
    },
    Playing,
}

/// A packet whose sequence number jumped; a restart if the next packet follows it.
#[derive(Debug, Clone)]
struct Probation {
    sequence: u16,
    timestamp: u32,
    payload: Vec<u8>,
    arrival_ms: u64,
}

#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    state: State,
    /// Buffered payloads by unwrapped sequence number.
    packets: BTreeMap<i64, Vec<u8>>,
    /// Unwrapped sequence number of the next frame to play; kept while priming again after a
    /// pause, so that stragglers from before it are recognised as late.
    next_seq: Option<i64>,
    /// Newest (highest) unwrapped sequence number and its unwrapped timestamp: the reference
    /// for unwrapping the next packet.
    highest: Option<(i64, i64)>,
    /// Frames before this unwrapped sequence number went out early through `take_ready`.
    delivered_to: Option<i64>,
    /// Bit i set: sequence number `next_seq - 1 - i` was received (played or dropped).
    played: u128,
    /// Previous packet's transit time (arrival minus media time), for the jitter estimate.
    last_transit_ms: Option<f64>,
    /// Slowly decaying maximum of the jitter estimate: what the target is sized for.
    peak_jitter_ms: f64,
    last_arrival_ms: u64,
    probation: Option<Probation>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// Nonsensical settings are corrected: a zero frame or clock becomes 1, the depth bounds are
    /// ordered and at least one frame.
    pub fn new(config: JitterConfig) -> Self {
        let frame_ms = config.frame_ms.max(1);
        let min_depth_ms = config.min_depth_ms.max(frame_ms);
        let config = JitterConfig {
            clock_rate: config.clock_rate.max(1),
            frame_ms,
            min_depth_ms,
            max_depth_ms: config.max_depth_ms.max(min_depth_ms),
            max_conceal_ms: config.max_conceal_ms,
        };
        let stats = JitterStats { target_ms: config.min_depth_ms, ..JitterStats::default() };
        Self {
            config,
            state: State::Priming { since_ms: None },
            packets: BTreeMap::new(),
            next_seq: None,
            delivered_to: None,
            highest: None,
            played: 0,
            last_transit_ms: None,
            peak_jitter_ms: 0.0,
            last_arrival_ms: 0,
            probation: None,
            stats,
        }
    }

    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    pub fn stats(&self) -> JitterStats {
        JitterStats { depth_ms: self.depth_ms(), ..self.stats.clone() }
    }

    /// Forgets the stream (keeping the counters), e.g. when the SSRC changes.
    pub fn reset(&mut self) {
        self.stats.dropped += self.packets.len() as u64;
        self.packets.clear();
        self.state = State::Priming { since_ms: None };
        self.next_seq = None;
        self.delivered_to = None;
        self.highest = None;
        self.played = 0;
        self.last_transit_ms = None;
        self.probation = None;
    }

    /// Accepts one packet. `arrival_ms` is on the same clock as `pop`'s `now_ms`.
    pub fn push(&mut self, sequence: u16, timestamp: u32, payload: &[u8], arrival_ms: u64) {
        self.stats.received += 1;
        self.last_arrival_ms = self.last_arrival_ms.max(arrival_ms);
        let Some((highest_seq, highest_ts)) = self.highest else {
            self.start_stream(sequence, timestamp);
            self.accept(i64::from(sequence), i64::from(timestamp), payload.to_vec(), arrival_ms);
            return;
        };
        let seq = unwrap_u16(sequence, highest_seq);
        let ts = unwrap_u32(timestamp, highest_ts);
        if seq - highest_seq > MAX_DROPOUT || highest_seq - seq > MAX_MISORDER {
            self.on_jump(sequence, timestamp, payload, arrival_ms);
            return;
        }
        self.probation = None;
        // Late packets and duplicates took the network's time too: RFC 3550 counts every arrival.
        let timing_reset = self.update_jitter(ts, arrival_ms);
        if let Some(next) = self.next_seq
            && seq < next
        {
            let age = next - 1 - seq;
            if age < HISTORY && self.played >> age & 1 == 1 {
                self.stats.duplicate += 1;
            } else {
                self.stats.late += 1;
            }
            return;
        }
        if self.packets.contains_key(&seq) {
            self.stats.duplicate += 1;
            return;
        }
        if seq < highest_seq {
            self.stats.reordered += 1;
        }
        self.buffer(seq, ts, payload.to_vec(), arrival_ms, timing_reset);
    }

    /// The frame for this tick. Call once per `frame_ms`.
    pub fn pop(&mut self, now_ms: u64) -> Frame {
        if let State::Priming { since_ms } = self.state {
            let Some(since_ms) = since_ms else {
                return Frame::Nothing;
            };
            let target = u64::from(self.stats.target_ms);
            if now_ms < since_ms.saturating_add(target) && u64::from(self.buffered_span_ms()) < target {
                return Frame::Nothing;
            }
            self.start_playing();
        }
        let Some(next) = self.next_seq else {
            return Frame::Nothing; // unreachable: start_playing sets it
        };
        let Some((&oldest, _)) = self.packets.first_key_value() else {
            if now_ms.saturating_sub(self.last_arrival_ms) <= u64::from(self.config.max_conceal_ms) {
                self.stats.underruns += 1;
                return Frame::Lost;
            }
            self.state = State::Priming { since_ms: None };
            return Frame::Nothing;
        };
        let frame = u64::from(self.config.frame_ms);
        let too_deep = u64::from(self.depth_ms()) > u64::from(self.stats.target_ms) + 2 * frame;
        if too_deep && oldest == next && self.packets.contains_key(&(next + 1)) {
            // Drop this frame and play the next: the excess delay shrinks by a frame per pop.
            self.packets.remove(&next);
            self.advance(1, true);
            self.stats.dropped += 1;
        } else if (oldest - next).max(0).unsigned_abs().saturating_mul(frame) > u64::from(self.config.max_depth_ms) {
            // Too long a gap to conceal frame by frame: the audio it held is long gone. Skip it.
            self.skip_to(oldest);
        }
        self.pop_next()
    }

    /// The frames that can be used now, ahead of their turn (see "Early delivery" above): those
    /// here in unbroken sequence from the play position, not yet handed out. Nothing while priming.
    pub fn take_ready(&mut self) -> Vec<Vec<u8>> {
        let (State::Playing, Some(next)) = (self.state, self.next_seq) else {
            return Vec::new();
        };
        let mut seq = self.delivered_to.map_or(next, |d| d.max(next));
        let mut ready = Vec::new();
        while let Some(payload) = self.packets.get(&seq) {
            ready.push(payload.clone());
            seq += 1;
        }
        self.delivered_to = Some(seq);
        ready
    }

    /// The payload of the frame the next `pop` will play, if it is here: after a `Lost`, the
    /// packet that may carry a copy of the lost one (Opus in-band FEC).
    pub fn next_payload(&self) -> Option<&[u8]> {
        self.packets.get(&self.next_seq?).map(Vec::as_slice)
    }

    /// Plays the frame at `next_seq`, or `Lost` if it is missing (later frames being buffered).
    fn pop_next(&mut self) -> Frame {
        let Some(next) = self.next_seq else {
            return Frame::Nothing;
        };
        match self.packets.remove(&next) {
            Some(payload) => {
                self.advance(1, true);
                if self.delivered_to.is_some_and(|d| next < d) { Frame::Delivered } else { Frame::Audio(payload) }
            }
            None => {
                self.stats.lost += 1;
                self.advance(1, false);
                Frame::Lost
            }
        }
    }

    fn start_stream(&mut self, sequence: u16, timestamp: u32) {
        self.highest = Some((i64::from(sequence), i64::from(timestamp)));
        self.next_seq = None;
        self.delivered_to = None;
        self.played = 0;
        self.last_transit_ms = None;
        self.state = State::Priming { since_ms: None };
    }

    /// Buffers a packet that starts a stream.
    fn accept(&mut self, seq: i64, ts: i64, payload: Vec<u8>, arrival_ms: u64) {
        let timing_reset = self.update_jitter(ts, arrival_ms);
        self.buffer(seq, ts, payload, arrival_ms, timing_reset);
    }

    /// Buffers an in-window packet, noticing talk-spurt starts and timing resets.
    fn buffer(&mut self, seq: i64, ts: i64, payload: Vec<u8>, arrival_ms: u64, timing_reset: bool) {
        let (highest_seq, highest_ts) = self.highest.unwrap_or((seq, ts));
        let samples_per_frame = i64::from(self.config.clock_rate) * i64::from(self.config.frame_ms) / 1000;
        let spurt_start = seq == highest_seq + 1 && ts - highest_ts > samples_per_frame;
        if seq >= highest_seq {
            self.highest = Some((seq, ts));
        }
        if (spurt_start || timing_reset) && self.packets.is_empty() && self.state == State::Playing {
            self.state = State::Priming { since_ms: None };
        }
        if let State::Priming { since_ms: None } = self.state {
            self.state = State::Priming { since_ms: Some(arrival_ms) };
        }
        self.packets.insert(seq, payload);
        self.enforce_capacity();
    }

    /// RFC 3550 §6.4.1: J += (|D| - J) / 16, D being the change in transit time. Returns true when
    /// the change was too large to be jitter and the estimate restarted from this packet instead.
    fn update_jitter(&mut self, ts: i64, arrival_ms: u64) -> bool {
        let transit = arrival_ms as f64 - ts as f64 * 1000.0 / f64::from(self.config.clock_rate);
        let previous = self.last_transit_ms.replace(transit);
        let Some(previous) = previous else {
            return false;
        };
        let change = (transit - previous).abs();
        if change > TIMING_RESET_MS {
            return true;
        }
        self.stats.jitter_ms += (change - self.stats.jitter_ms) / 16.0;
        self.peak_jitter_ms = self.stats.jitter_ms.max(self.peak_jitter_ms * PEAK_DECAY);
        let frame = f64::from(self.config.frame_ms);
        // One frame for packetisation plus three mean deviations covers nearly all arrivals.
        let wanted = ((frame + 3.0 * self.peak_jitter_ms) / frame).ceil() * frame;
        self.stats.target_ms = (wanted as u32).clamp(self.config.min_depth_ms, self.config.max_depth_ms);
        false
    }

    /// A sequence number far from the stream's: remember it, or, if it follows the one remembered,
    /// restart the stream from the two of them.
    fn on_jump(&mut self, sequence: u16, timestamp: u32, payload: &[u8], arrival_ms: u64) {
        match self.probation.take() {
            Some(first) if first.sequence.wrapping_add(1) == sequence => {
                self.stats.resyncs += 1;
                self.stats.dropped += self.packets.len() as u64;
                self.packets.clear();
                self.start_stream(first.sequence, first.timestamp);
                self.accept(i64::from(first.sequence), i64::from(first.timestamp), first.payload, first.arrival_ms);
                let ts = unwrap_u32(timestamp, i64::from(first.timestamp));
                self.accept(i64::from(first.sequence) + 1, ts, payload.to_vec(), arrival_ms);
            }
            _ => {
                // A lone straggler stays uncounted beyond `received` unless a follower confirms it.
                self.probation = Some(Probation { sequence, timestamp, payload: payload.to_vec(), arrival_ms });
            }
        }
    }

    fn start_playing(&mut self) {
        let Some((&oldest, _)) = self.packets.first_key_value() else {
            return;
        };
        // Frames missing since the stream paused are lost; a new stream simply starts here.
        self.skip_to(oldest);
        self.next_seq = Some(oldest);
        self.state = State::Playing;
    }

    /// Moves the play position up to `seq`, counting the frames passed over as lost.
    fn skip_to(&mut self, seq: i64) {
        if let Some(next) = self.next_seq
            && seq > next
        {
            self.stats.lost += (seq - next) as u64;
            self.advance(seq - next, false);
        }
    }

    /// Moves the play position `count` frames on, recording whether they were received.
    fn advance(&mut self, count: i64, received: bool) {
        let Some(next) = &mut self.next_seq else {
            return;
        };
        *next += count;
        self.played = if count >= HISTORY { 0 } else { self.played << count };
        if received {
            self.played |= 1;
        }
    }

    /// Bounds memory: a flood of packets never holds more than twice the maximum depth.
    fn enforce_capacity(&mut self) {
        let capacity = (2 * self.config.max_depth_ms / self.config.frame_ms).max(4) as usize;
        while self.packets.len() > capacity {
            let Some((seq, _)) = self.packets.pop_first() else {
                break;
            };
            self.stats.dropped += 1;
            if self.next_seq.is_some_and(|next| seq >= next) {
                self.skip_to(seq);
                self.advance(1, true);
            }
        }
    }

    /// Audio from the play position (or the oldest packet, while priming) to the newest packet.
    fn depth_ms(&self) -> u32 {
        let (Some((&oldest, _)), Some((&newest, _))) = (self.packets.first_key_value(), self.packets.last_key_value())
        else {
            return 0;
        };
        let start = match (self.state, self.next_seq) {
            (State::Playing, Some(next)) => next.min(oldest),
            _ => oldest,
        };
        frames_to_ms(newest - start + 1, self.config.frame_ms)
    }

    fn buffered_span_ms(&self) -> u32 {
        match (self.packets.first_key_value(), self.packets.last_key_value()) {
            (Some((&oldest, _)), Some((&newest, _))) => frames_to_ms(newest - oldest + 1, self.config.frame_ms),
            _ => 0,
        }
    }
}

fn frames_to_ms(frames: i64, frame_ms: u32) -> u32 {
    u32::try_from(frames.saturating_mul(i64::from(frame_ms))).unwrap_or(u32::MAX)
}

/// The 64-bit sequence number nearest to `reference` whose low 16 bits are `sequence`.
fn unwrap_u16(sequence: u16, reference: i64) -> i64 {
    reference + i64::from(sequence.wrapping_sub(reference as u16) as i16)
}

/// The 64-bit timestamp nearest to `reference` whose low 32 bits are `timestamp`.
fn unwrap_u32(timestamp: u32, reference: i64) -> i64 {
    reference + i64::from(timestamp.wrapping_sub(reference as u32) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Out {
        A(u16),
        L,
        N,
        /// Its turn, handed out earlier by `take_ready`.
        D,
    }

    /// A packet as the network delivers it.
    #[derive(Debug, Clone, Copy)]
    struct Arrival {
        at_ms: u64,
        seq: u16,
        ts: u32,
    }

    /// Packet `i` of a 20 ms stream, sent at `20 * i` and delivered `delay(i)` later (None: lost).
    fn stream(first_seq: u16, first_ts: u32, count: u16, delay: impl Fn(u16) -> Option<u64>) -> Vec<Arrival> {
        (0..count)
            .filter_map(|i| {
                let at_ms = 20 * u64::from(i) + delay(i)?;
                Some(Arrival { at_ms, seq: first_seq.wrapping_add(i), ts: first_ts.wrapping_add(160 * u32::from(i)) })
            })
            .collect()
    }

    /// Pops every 20 ms (at 10, 30, 50 … ms) until `until_ms`, pushing what has arrived before each pop.
    /// Payloads carry their sequence number, so the output says which packet played.
    fn run(jb: &mut JitterBuffer, arrivals: &[Arrival], until_ms: u64) -> Vec<Out> {
        let mut arrivals = arrivals.to_vec();
        arrivals.sort_by_key(|a| a.at_ms); // stable: same-time arrivals keep their order
        let mut pending = arrivals.into_iter().peekable();
        let mut out = vec![];
        let mut now = 10;
        while now < until_ms {
            while let Some(a) = pending.next_if(|a| a.at_ms <= now) {
                jb.push(a.seq, a.ts, &a.seq.to_be_bytes(), a.at_ms);
            }
            out.push(match jb.pop(now) {
                Frame::Audio(payload) => Out::A(u16::from_be_bytes([payload[0], payload[1]])),
                Frame::Lost => Out::L,
                Frame::Nothing => Out::N,
                Frame::Delivered => Out::D,
            });
            now += 20;
        }
        out
    }

    fn played(out: &[Out]) -> Vec<u16> {
        out.iter().filter_map(|o| if let Out::A(seq) = o { Some(*seq) } else { None }).collect()
    }

    /// The outputs from the first audio frame to the last one.
    fn middle(out: &[Out]) -> &[Out] {
        let first = out.iter().position(|o| matches!(o, Out::A(_))).unwrap_or(0);
        let last = out.iter().rposition(|o| matches!(o, Out::A(_))).map_or(0, |i| i + 1);
        &out[first..last.max(first)]
    }

    fn seqs(first: u16, count: u16) -> Vec<u16> {
        (0..count).map(|i| first.wrapping_add(i)).collect()
    }

    fn buffer() -> JitterBuffer {
        JitterBuffer::new(JitterConfig::default())
    }

    #[test]
    fn steady_stream_primes_then_plays_in_order_then_goes_quiet() {
        let mut jb = buffer();
        let out = run(&mut jb, &stream(1000, 0, 50, |_| Some(0)), 1500);
        assert_eq!(out[0], Out::N, "not primed after one packet");
        assert_eq!(out[1], Out::A(1000), "primed at 40 ms of audio");
        assert_eq!(played(&out), seqs(1000, 50));
        assert!(!middle(&out).contains(&Out::L));
        // After the stream stops: concealment for max_conceal_ms, then nothing.
        assert_eq!(out[51..].iter().filter(|o| **o == Out::L).count(), 8, "200 ms after the last arrival");
        assert_eq!(out.last(), Some(&Out::N));
        let stats = jb.stats();
        assert_eq!((stats.received, stats.lost, stats.late, stats.duplicate, stats.reordered), (50, 0, 0, 0, 0));
        assert_eq!((stats.jitter_ms, stats.target_ms, stats.depth_ms), (0.0, 40, 0));
    }

    /// As `run`, but taking every frame as soon as `take_ready` gives it (at each arrival and
    /// after each pop), as the recogniser does. Returns what came out, in order, with the time.
    fn run_eager(jb: &mut JitterBuffer, arrivals: &[Arrival], until_ms: u64) -> Vec<(u64, Out)> {
        let mut arrivals = arrivals.to_vec();
        arrivals.sort_by_key(|a| a.at_ms);
        let mut pending = arrivals.into_iter().peekable();
        let mut out = vec![];
        let seq = |p: Vec<u8>| Out::A(u16::from_be_bytes([p[0], p[1]]));
        let mut now = 10;
        while now < until_ms {
            while let Some(a) = pending.next_if(|a| a.at_ms <= now) {
                jb.push(a.seq, a.ts, &a.seq.to_be_bytes(), a.at_ms);
                out.extend(jb.take_ready().into_iter().map(|p| (a.at_ms, seq(p))));
            }
            match jb.pop(now) {
                Frame::Audio(p) => out.push((now, seq(p))),
                Frame::Lost => out.push((now, Out::L)),
                Frame::Nothing | Frame::Delivered => {}
            }
            out.extend(jb.take_ready().into_iter().map(|p| (now, seq(p))));
            now += 20;
        }
        out
    }

    #[test]
    fn early_delivery_gives_the_same_frames_in_the_same_order_sooner() {
        // Jitter of 0-17 ms, every fifth packet overtaken by its successor, two lost.
        let delay = |i: u16| match i {
            13 | 31 => None,
            i if i % 5 == 0 => Some(24),
            i => Some(u64::from(i * 7 % 18)),
        };
        let arrivals = stream(300, 0, 60, delay);
        let paced = run(&mut buffer(), &arrivals, 1700);
        let eager = run_eager(&mut buffer(), &arrivals, 1700);
        let frames = |out: &[Out]| out.iter().copied().filter(|o| *o != Out::N).collect::<Vec<_>>();
        let eager_frames: Vec<Out> = eager.iter().map(|(_, o)| *o).collect();
        assert_eq!(eager_frames, frames(&paced));
        assert!(eager_frames.contains(&Out::L), "the losses are still concealed in place");
        // Once playing, a frame that arrives in sequence goes out the moment it arrives.
        let on_arrival = eager
            .iter()
            .filter(|(at, o)| matches!(o, Out::A(s) if arrivals.iter().any(|a| a.seq == *s && a.at_ms == *at)));
        assert!(on_arrival.count() > 40, "{eager:?}");
    }

    #[test]
    fn sequence_and_timestamp_wrap_around() {
        let mut jb = buffer();
        let out = run(&mut jb, &stream(65_500, u32::MAX - 3000, 100, |_| Some(3)), 2200);
        assert_eq!(played(&out), seqs(65_500, 100));
        assert!(!middle(&out).contains(&Out::L));
        assert_eq!(jb.stats().jitter_ms, 0.0, "timestamp wrap is not jitter");
    }

    #[test]
    fn reordering_within_the_depth_is_undone() {
        let mut jb = buffer();
        // Every even packet arrives 25 ms late, after its odd successor.
        let out = run(&mut jb, &stream(7, 0, 60, |i| Some(if i % 2 == 0 { 25 } else { 0 })), 1500);
        assert_eq!(played(&out), seqs(7, 60));
        assert!(!middle(&out).contains(&Out::L));
        let stats = jb.stats();
        assert_eq!((stats.reordered, stats.lost, stats.late), (30, 0, 0));
    }

    #[test]
    fn duplicates_play_once() {
        let mut jb = buffer();
        let once = stream(500, 0, 40, |_| Some(0));
        let mut arrivals: Vec<Arrival> = once.iter().flat_map(|a| [*a, Arrival { at_ms: a.at_ms + 1, ..*a }]).collect();
        // A copy of an already played packet arrives much later.
        arrivals.push(Arrival { at_ms: 700, ..once[2] });
        let out = run(&mut jb, &arrivals, 1000);
        assert_eq!(played(&out), seqs(500, 40));
        let stats = jb.stats();
        assert_eq!((stats.received, stats.duplicate, stats.late, stats.lost), (81, 41, 0, 0));
    }

    #[test]
    fn lost_packets_become_lost_frames_in_place() {
        let mut jb = buffer();
        let arrivals = stream(100, 0, 40, |i| (![10, 20, 21].contains(&i)).then_some(0));
        let out = run(&mut jb, &arrivals, 1000);
        let mut want: Vec<Out> =
            (0..40).map(|i| if [10, 20, 21].contains(&i) { Out::L } else { Out::A(100 + i) }).collect();
        // Two losses in a row empty the 40 ms buffer: it holds for a frame (delay +20 ms) before
        // giving up on them.
        want.insert(20, Out::L);
        assert_eq!(middle(&out), want);
        let stats = jb.stats();
        assert_eq!((stats.lost, stats.late), (3, 0));
    }

    #[test]
    fn late_packets_are_dropped_and_counted() {
        let mut jb = buffer();
        let arrivals = stream(0, 0, 40, |i| Some(if i == 10 { 150 } else { 0 }));
        let out = run(&mut jb, &arrivals, 1000);
        assert!(!played(&out).contains(&10));
        assert_eq!(middle(&out)[10], Out::L);
        let stats = jb.stats();
        assert_eq!((stats.lost, stats.late), (1, 1));
    }

    #[test]
    fn a_delay_spike_is_held_then_drained() {
        let mut jb = buffer();
        // Packets 20..30 are stuck for up to 200 ms and all arrive with packet 30.
        let arrivals = stream(0, 0, 100, |i| Some(if (20..30).contains(&i) { 20 * u64::from(30 - i) } else { 0 }));
        let out = run(&mut jb, &arrivals, 2300);
        assert_eq!(played(&out).len() as u64 + jb.stats().dropped, 100, "every packet played or dropped");
        let stats = jb.stats();
        assert_eq!((stats.lost, stats.late), (0, 0), "the spike was waited out, not lost");
        assert!(stats.underruns >= 5, "{stats:?}");
        assert!(stats.dropped >= 1, "the extra delay was drained: {stats:?}");
        assert!(stats.target_ms > 40, "the spike raised the target for a while: {stats:?}");
        assert!(played(&out).windows(2).all(|w| w[0] < w[1]), "still in order");
    }

    #[test]
    fn jitter_estimate_and_target_follow_the_network() {
        let mut rng = SplitMix64::new(3550);
        let delays: Vec<u64> = (0..500).map(|_| rng.below(60)).collect();
        let mut jittery = buffer();
        let out = run(&mut jittery, &stream(0, 0, 500, |i| Some(delays[usize::from(i)])), 10_400);
        let stats = jittery.stats();
        // Uniform 0–60 ms delays: mean |difference| is 20 ms.
        assert!((12.0..28.0).contains(&stats.jitter_ms), "{stats:?}");
        assert!((60..=120).contains(&stats.target_ms), "{stats:?}");
        assert!(stats.lost + stats.late <= 10, "{stats:?}");
        assert!(played(&out).windows(2).all(|w| w[0] < w[1]));

        let mut calm = buffer();
        run(&mut calm, &stream(0, 0, 500, |_| Some(30)), 10_400);
        assert_eq!(calm.stats().target_ms, 40);

        let mut awful = buffer();
        run(&mut awful, &stream(0, 0, 500, |i| Some(u64::from(i % 2) * 400)), 10_400);
        assert_eq!(awful.stats().target_ms, 200, "clamped to max_depth_ms");
    }

    #[test]
    fn talk_spurts_after_silence_prime_again_without_counting_loss() {
        for silence_ms in [100, 1000, 60_000] {
            let mut jb = buffer();
            let gap_frames = (silence_ms / 20) as u16;
            let mut arrivals = stream(10, 0, 20, |_| Some(0));
            // Sequence numbers continue; timestamps and arrival times jump by the silence.
            arrivals.extend(
                stream(30, 160 * u32::from(20 + gap_frames), 20, |_| Some(0))
                    .into_iter()
                    .map(|a| Arrival { at_ms: a.at_ms + 20 * (20 + u64::from(gap_frames)), ..a }),
            );
            let out = run(&mut jb, &arrivals, 20 * (45 + u64::from(gap_frames)));
            assert_eq!(played(&out), seqs(10, 40), "silence {silence_ms}");
            let restart = out.iter().position(|o| *o == Out::A(30)).unwrap();
            assert_eq!(out[restart - 1], Out::N, "silence {silence_ms}: the second spurt primed");
            let stats = jb.stats();
            assert_eq!((stats.lost, stats.late, stats.resyncs), (0, 0, 0), "silence {silence_ms}");
            assert!(stats.jitter_ms < 1.0, "silence {silence_ms}: {stats:?}");
        }
    }

    #[test]
    fn an_outage_counts_the_missing_sequence_numbers() {
        let mut jb = buffer();
        // 50 packets (1 s) never arrive; the stream then carries on.
        let arrivals = stream(0, 0, 120, |i| (!(30..80).contains(&i)).then_some(0));
        let out = run(&mut jb, &arrivals, 2600);
        assert_eq!(played(&out), [seqs(0, 30), seqs(80, 40)].concat());
        assert_eq!(jb.stats().lost, 50);
    }

    #[test]
    fn a_stream_restart_resyncs_after_two_packets() {
        let mut jb = buffer();
        let mut arrivals = stream(1000, 5000, 20, |_| Some(0));
        arrivals.extend(
            stream(40_000, 123_456_789, 20, |_| Some(0)).into_iter().map(|a| Arrival { at_ms: a.at_ms + 400, ..a }),
        );
        let out = run(&mut jb, &arrivals, 1000);
        assert_eq!(played(&out), [seqs(1000, 20), seqs(40_000, 20)].concat());
        let stats = jb.stats();
        assert_eq!((stats.resyncs, stats.lost, stats.late), (1, 0, 0));
        assert!(stats.jitter_ms < 1.0, "{stats:?}");
    }

    #[test]
    fn a_lone_stray_packet_is_ignored() {
        let mut jb = buffer();
        let mut arrivals = stream(1000, 0, 40, |_| Some(0));
        arrivals.push(Arrival { at_ms: 300, seq: 30_000, ts: 9 });
        arrivals.push(Arrival { at_ms: 400, seq: 900, ts: 9 }); // far behind: also a jump
        let out = run(&mut jb, &arrivals, 1000);
        assert_eq!(played(&out), seqs(1000, 40));
        assert!(!middle(&out).contains(&Out::L));
        assert_eq!(jb.stats().resyncs, 0);
    }

    #[test]
    fn reset_forgets_the_stream() {
        let mut jb = buffer();
        run(&mut jb, &stream(0, 0, 10, |_| Some(0)), 100);
        jb.reset();
        assert_eq!(jb.pop(1000), Frame::Nothing);
        jb.push(20_000, 7, &[1], 1000);
        jb.push(20_001, 167, &[2], 1020);
        assert_eq!(jb.pop(1030), Frame::Audio(vec![1]));
        assert_eq!(jb.pop(1050), Frame::Audio(vec![2]));
    }

    #[test]
    fn nonsensical_config_is_corrected() {
        let jb = JitterBuffer::new(JitterConfig {
            clock_rate: 0,
            frame_ms: 0,
            min_depth_ms: 0,
            max_depth_ms: 0,
            max_conceal_ms: 0,
        });
        let config = jb.config();
        assert_eq!((config.clock_rate, config.frame_ms, config.min_depth_ms, config.max_depth_ms), (1, 1, 1, 1));
    }

    #[test]
    fn random_traffic_never_panics_and_keeps_memory_bounded() {
        let mut rng = SplitMix64::new(0xB0F);
        for round in 0..20 {
            let mut jb = buffer();
            let mut now = 0u64;
            let mut seq = rng.next_u64() as u16;
            let mut ts = rng.next_u64() as u32;
            let mut played = 0u64;
            for _ in 0..5000 {
                match rng.below(10) {
                    0..=4 => {
                        seq = match rng.below(20) {
                            0 => rng.next_u64() as u16,
                            1..=3 => seq.wrapping_sub(rng.below(200) as u16),
                            _ => seq.wrapping_add(rng.below(4) as u16),
                        };
                        ts = if rng.below(30) == 0 { rng.next_u64() as u32 } else { ts.wrapping_add(160) };
                        let len = rng.below(200) as usize;
                        let arrival =
                            if rng.below(200) == 0 { rng.next_u64() } else { now.saturating_sub(rng.below(100)) };
                        jb.push(seq, ts, &rng.bytes(len), arrival);
                    }
                    _ => {
                        now = now.saturating_add(if rng.below(500) == 0 { rng.next_u64() >> 2 } else { rng.below(45) });
                        if matches!(jb.pop(now), Frame::Audio(_)) {
                            played += 1;
                        }
                    }
                }
                let stats = jb.stats();
                assert!(jb.packets.len() <= 20, "round {round}: {} buffered", jb.packets.len());
                if let (Some(next), Some((&oldest, _))) = (jb.next_seq, jb.packets.first_key_value()) {
                    assert!(oldest >= next || jb.state != State::Playing, "round {round}: {oldest} < {next}");
                }
                assert!((40..=200).contains(&stats.target_ms));
            }
            let stats = jb.stats();
            assert!(
                played + stats.late + stats.duplicate + stats.dropped <= stats.received,
                "round {round}: {stats:?}"
            );
        }
    }
}

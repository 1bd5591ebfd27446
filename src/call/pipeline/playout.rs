//! What the bot is saying, frame by frame: audio of each turn arrives from TTS in chunks and
//! leaves in 20 ms frames. Pause holds the position (the caller may only be saying "uh-huh");
//! stop drops everything unplayed (barge-in: LiveKit's `clear_buffer`).

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEvent {
    /// The first frame of this turn went out.
    Started(u64),
    /// The last frame of this turn went out.
    Finished(u64),
}

#[derive(Debug)]
struct Segment {
    turn: u64,
    samples: VecDeque<f32>,
    /// TTS has delivered everything for this turn.
    complete: bool,
    started: bool,
}

#[derive(Debug, Default)]
pub struct Playout {
    segments: VecDeque<Segment>,
    paused: bool,
}

impl Playout {
    pub fn push(&mut self, turn: u64, audio: &[f32]) {
        self.segment(turn).samples.extend(audio.iter().copied());
    }

    /// No more audio will come for `turn`.
    pub fn complete(&mut self, turn: u64) {
        self.segment(turn).complete = true;
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// Drops all unplayed audio; the turns dropped are returned.
    pub fn stop(&mut self) -> Vec<u64> {
        self.paused = false;
        self.segments.drain(..).map(|s| s.turn).collect()
    }

    pub fn is_playing(&self) -> bool {
        !self.paused && !self.segments.is_empty()
    }

    /// The next frame of `n` samples, if there is one to send now, and what it started or ended.
    /// While TTS is behind, nothing is sent (rather than a gap of silence inside a word).
    pub fn next_frame(&mut self, n: usize, events: &mut Vec<PlaybackEvent>) -> Option<Vec<f32>> {
        if self.paused {
            return None;
        }
        loop {
            let seg = self.segments.front_mut()?;
            if seg.samples.is_empty() && seg.complete {
                if seg.started {
                    events.push(PlaybackEvent::Finished(seg.turn));
                } else {
                    // Nothing was ever played: started and finished at once.
                    events.push(PlaybackEvent::Started(seg.turn));
                    events.push(PlaybackEvent::Finished(seg.turn));
                }
                self.segments.pop_front();
                continue;
            }
            if seg.samples.len() < n && !seg.complete {
                return None;
            }
            if !seg.started {
                seg.started = true;
                events.push(PlaybackEvent::Started(seg.turn));
            }
            let take = n.min(seg.samples.len());
            let mut frame: Vec<f32> = seg.samples.drain(..take).collect();
            frame.resize(n, 0.0);
            if seg.samples.is_empty() && seg.complete {
                events.push(PlaybackEvent::Finished(seg.turn));
                self.segments.pop_front();
            }
            return Some(frame);
        }
    }

    fn segment(&mut self, turn: u64) -> &mut Segment {
        let at = match self.segments.iter().position(|s| s.turn == turn) {
            Some(i) => i,
            None => {
                self.segments.push_back(Segment { turn, samples: VecDeque::new(), complete: false, started: false });
                self.segments.len() - 1
            }
        };
        &mut self.segments[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(p: &mut Playout, n: usize) -> (usize, Vec<PlaybackEvent>) {
        let mut events = Vec::new();
        let mut count = 0;
        while p.next_frame(n, &mut events).is_some() {
            count += 1;
        }
        (count, events)
    }

    #[test]
    fn a_turn_plays_in_frames_and_reports_start_and_end() {
        let mut p = Playout::default();
        p.push(0, &[0.1; 400]);
        let (count, events) = frames(&mut p, 160);
        assert_eq!(count, 2, "waits for more audio rather than padding mid-turn");
        assert_eq!(events, vec![PlaybackEvent::Started(0)]);
        p.complete(0);
        let (count, events) = frames(&mut p, 160);
        assert_eq!(count, 1, "the tail is padded once the turn is complete");
        assert_eq!(events, vec![PlaybackEvent::Finished(0)]);
        assert!(!p.is_playing());
    }

    #[test]
    fn pause_holds_the_position_and_stop_drops_everything() {
        let mut p = Playout::default();
        p.push(3, &[0.1; 1600]);
        p.complete(3);
        let mut events = Vec::new();
        p.next_frame(160, &mut events);
        p.pause();
        assert!(p.next_frame(160, &mut events).is_none());
        p.resume();
        let (count, _) = frames(&mut p, 160);
        assert_eq!(count, 9, "resumed where it paused");
        p.push(4, &[0.1; 1600]);
        assert_eq!(p.stop(), vec![4]);
        assert!(p.next_frame(160, &mut events).is_none());
    }

    #[test]
    fn turns_play_in_order() {
        let mut p = Playout::default();
        p.push(1, &[0.1; 160]);
        p.complete(1);
        p.push(2, &[0.2; 160]);
        p.complete(2);
        let (count, events) = frames(&mut p, 160);
        assert_eq!(count, 2);
        use PlaybackEvent::*;
        assert_eq!(events, vec![Started(1), Finished(1), Started(2), Finished(2)]);
    }
}

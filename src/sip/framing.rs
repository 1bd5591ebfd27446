//! Sans-IO framer for SIP over a stream transport (TCP): bytes from one connection go in,
//! whole messages come out.
//!
//! Consumes: whatever the connection delivered, in order (`push`).
//! Emits (`poll`): `Frame::Message` with exactly one message (head up to the blank line plus
//! Content-Length bytes of body, RFC 3261 §18.3), or `Frame::Ping` for an RFC 5626 §3.5.1
//! keep-alive (a double CRLF between messages), which the driver answers with [`PONG`].
//! Invariants: a stream has no message boundaries other than Content-Length, so once framing
//! is lost it cannot be regained: every `FramingError` is permanent, and the driver closes the
//! connection after sending whatever the UAS queued. Memory is bounded by [`MAX_MESSAGE`] plus
//! one read, provided the driver polls until `Ok(None)` after each push.
//!
//! A head without Content-Length is still handed out as a message (the UAS answers it 400,
//! as §18.3 makes Content-Length mandatory on streams); the error follows on the next poll.

use thiserror::Error;

/// Largest whole message (head and body) we accept.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Largest message head (start line and headers, up to the blank line) we accept.
pub const MAX_HEADERS: usize = 16 * 1024;
/// The RFC 5626 §3.5.1 answer to a double-CRLF ping.
pub const PONG: &[u8] = b"\r\n";

const CRLF2: &[u8] = b"\r\n\r\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Message(Vec<u8>),
    Ping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("message head exceeds {MAX_HEADERS} bytes")]
    HeadersTooLarge,
    #[error("message exceeds {MAX_MESSAGE} bytes")]
    MessageTooLarge,
    #[error("Content-Length is not a number, or appears twice with different values")]
    BadContentLength,
    #[error("no Content-Length on a stream transport: the next message cannot be found")]
    MissingContentLength,
}

#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// No blank line starts before this index, so a head arriving byte by byte is scanned once.
    scanned: usize,
    failed: Option<FramingError>,
}

impl StreamFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the connection. Ignored once framing has failed.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next frame, `Ok(None)` when more bytes are needed, or the error that ends the stream.
    pub fn poll(&mut self) -> Result<Option<Frame>, FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        loop {
            if self.buf.starts_with(CRLF2) {
                self.consume(CRLF2.len());
                return Ok(Some(Frame::Ping));
            }
            if CRLF2.starts_with(&self.buf) {
                return Ok(None); // empty, or a partial CRLF that may yet become a ping
            }
            if self.buf.starts_with(b"\r\n") {
                // A lone CRLF before a start line is ignored (RFC 3261 §7.5).
                self.consume(2);
                continue;
            }
            break;
        }
        let Some(pos) = self.buf[self.scanned..].windows(CRLF2.len()).position(|w| w == CRLF2) else {
            self.scanned = self.buf.len().saturating_sub(CRLF2.len() - 1);
            return if self.buf.len() > MAX_HEADERS { self.fail(FramingError::HeadersTooLarge) } else { Ok(None) };
        };
        let blank_line = self.scanned + pos;
        let head_len = blank_line + CRLF2.len();
        if head_len > MAX_HEADERS {
            return self.fail(FramingError::HeadersTooLarge);
        }
        let body_len = match content_length(&self.buf[..head_len]) {
            Ok(Some(n)) => n,
            Ok(None) => {
                let head = self.buf[..head_len].to_vec();
                self.failed = Some(FramingError::MissingContentLength);
                self.buf.clear();
                return Ok(Some(Frame::Message(head)));
            }
            Err(e) => return self.fail(e),
        };
        let total = match head_len.checked_add(body_len) {
            Some(total) if total <= MAX_MESSAGE => total,
            _ => return self.fail(FramingError::MessageTooLarge),
        };
        if self.buf.len() < total {
            self.scanned = blank_line; // the next poll finds the head's end at once
            return Ok(None);
        }
        let message = self.buf[..total].to_vec();
        self.consume(total);
        Ok(Some(Frame::Message(message)))
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.scanned = 0;
    }

    fn fail(&mut self, e: FramingError) -> Result<Option<Frame>, FramingError> {
        self.failed = Some(e);
        self.buf = Vec::new();
        Err(e)
    }
}

/// The Content-Length (or compact `l`) of a message head; `None` when absent. Two headers
/// that disagree are an error: picking either would let a peer smuggle a message past us.
fn content_length(head: &[u8]) -> Result<Option<usize>, FramingError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        if line.first().is_some_and(|b| matches!(b, b' ' | b'\t')) {
            continue; // a folded continuation of the previous header (§7.3.1)
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(FramingError::BadContentLength);
        }
        // All ASCII digits, so UTF-8; an overflowing number is simply too large.
        let n = std::str::from_utf8(value).ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(usize::MAX);
        if found.is_some_and(|f| f != n) {
            return Err(FramingError::BadContentLength);
        }
        found = Some(n);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
Call-ID: a\r\nContent-Length: 4\r\n\r\nbody";

    fn frames(f: &mut StreamFramer) -> Vec<Result<Frame, FramingError>> {
        let mut out = Vec::new();
        loop {
            match f.poll() {
                Ok(None) => return out,
                Ok(Some(frame)) => out.push(Ok(frame)),
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    fn msg(s: &str) -> Result<Frame, FramingError> {
        Ok(Frame::Message(s.as_bytes().to_vec()))
    }

    #[test]
    fn pipelined_messages_and_keepalives() {
        let mut f = StreamFramer::new();
        let stream = format!("\r\n\r\n{OPTIONS}\r\n{OPTIONS}\r\n\r\n{OPTIONS}");
        f.push(stream.as_bytes());
        assert_eq!(frames(&mut f), [Ok(Frame::Ping), msg(OPTIONS), msg(OPTIONS), Ok(Frame::Ping), msg(OPTIONS)]);
    }

    #[test]
    fn byte_at_a_time() {
        let mut f = StreamFramer::new();
        let stream = format!("{OPTIONS}\r\n\r\n{}", OPTIONS.replace("Content-Length: 4", "l: 4"));
        let mut got = Vec::new();
        for b in stream.as_bytes() {
            f.push(std::slice::from_ref(b));
            got.extend(frames(&mut f));
        }
        assert_eq!(got, [msg(OPTIONS), Ok(Frame::Ping), msg(&OPTIONS.replace("Content-Length: 4", "l: 4"))]);
        assert!(f.buf.is_empty());
    }

    #[test]
    fn missing_content_length_yields_the_head_then_fails() {
        let mut f = StreamFramer::new();
        let head = "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nCall-ID: a\r\n\r\n";
        f.push(format!("{head}{OPTIONS}").as_bytes());
        assert_eq!(frames(&mut f), [msg(head), Err(FramingError::MissingContentLength)]);
        f.push(OPTIONS.as_bytes());
        assert_eq!(f.poll(), Err(FramingError::MissingContentLength), "stays failed");
    }

    #[test]
    fn limits_and_bad_lengths() {
        let mut f = StreamFramer::new();
        f.push(OPTIONS.replace("Content-Length: 4", "Content-Length: 65536").as_bytes());
        assert_eq!(f.poll(), Err(FramingError::MessageTooLarge));

        let mut f = StreamFramer::new();
        f.push(OPTIONS.replace("Content-Length: 4", "Content-Length: 99999999999999999999999").as_bytes());
        assert_eq!(f.poll(), Err(FramingError::MessageTooLarge));

        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:bot@h SIP/2.0\r\nX: ");
        for _ in 0..17 {
            f.push(&[b'a'; 1024]);
            if f.poll().is_err() {
                break;
            }
        }
        assert_eq!(f.poll(), Err(FramingError::HeadersTooLarge), "no blank line within 16 KiB");

        let mut f = StreamFramer::new();
        let big_head = OPTIONS.replace("Call-ID: a", &format!("Call-ID: {}", "a".repeat(MAX_HEADERS)));
        f.push(big_head.as_bytes());
        assert_eq!(f.poll(), Err(FramingError::HeadersTooLarge), "blank line found, but too late");

        let folded = OPTIONS.replace("Content-Length: 4", "Content-Length: 4\r\nSubject: x\r\n l: 9");
        let mut f = StreamFramer::new();
        f.push(folded.as_bytes());
        assert_eq!(frames(&mut f), [msg(&folded)], "a folded line is no header");
        for bad in ["Content-Length: -1", "Content-Length: 4x", "Content-Length:", "Content-Length: 4\r\nl: 5"] {
            let mut f = StreamFramer::new();
            f.push(OPTIONS.replace("Content-Length: 4", bad).as_bytes());
            assert_eq!(f.poll(), Err(FramingError::BadContentLength), "{bad}");
        }
        let mut f = StreamFramer::new();
        f.push(OPTIONS.replace("Content-Length: 4", "Content-Length: 4\r\ncontent-length :  4").as_bytes());
        assert_eq!(
            f.poll(),
            msg(OPTIONS.replace("Content-Length: 4", "Content-Length: 4\r\ncontent-length :  4").as_str()).map(Some)
        );
    }

    #[test]
    fn a_body_at_exactly_the_limit_is_fine() {
        let head = "INVITE sip:bot@h SIP/2.0\r\nContent-Length: ";
        let body_len = MAX_MESSAGE - head.len() - 5 - 4; // 5 digits, blank line
        let m = format!("{head}{body_len}\r\n\r\n{}", "x".repeat(body_len));
        assert_eq!(m.len(), MAX_MESSAGE);
        let mut f = StreamFramer::new();
        f.push(m.as_bytes());
        assert_eq!(frames(&mut f), [msg(&m)]);
    }
}

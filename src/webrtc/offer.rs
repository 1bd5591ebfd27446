//! A first look at a caller's SDP offer (RFC 8866 text, RFC 3264 offer/answer), before the
//! WebRTC stack sees it.
//!
//! The stack's own errors for a bad offer are terse (`ErrSessionDescriptionNoFingerprint`, a parse
//! position). This pass turns the common mistakes — an empty body, an answer posted as an offer,
//! no audio, no Opus — into messages a web developer can act on, and it bounds the input size
//! before anything allocates per line. It also reports what the caller offered (Opus payload
//! types, candidate addresses) for logs. Sans-IO and total: any string in, a value or an error
//! out.

/// A real browser offer is 3–8 KiB; anything far larger is not one we should parse.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("the offer SDP is empty")]
    Empty,
    #[error("the offer SDP is {len} bytes; at most {MAX_OFFER_BYTES} are accepted")]
    TooLarge { len: usize },
    #[error("not an SDP description: it must start with \"v=0\"")]
    NotSdp,
    #[error("the offer has no audio section (m=audio)")]
    NoAudio,
    #[error("the offer's audio sections do not offer Opus (a=rtpmap:<pt> opus/48000/2)")]
    NoOpus,
    #[error("the offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)")]
    NoIceCredentials,
    #[error("the offer has no DTLS fingerprint (a=fingerprint); WebRTC media must be encrypted")]
    NoFingerprint,
    /// webrtc 0.21 answers every section outside the offer's BUNDLE group with port 0, i.e.
    /// rejects it; browsers and aiortc always bundle.
    #[error("the offer's audio section must be in a BUNDLE group (a=group:BUNDLE <mid> with a=mid:<mid>)")]
    NotBundled,
}

/// What the caller offered, as far as we care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferSummary {
    /// Payload types the caller maps to Opus, in its order of preference; the answer will reuse
    /// one of them (browsers use 111, aiortc 96).
    pub opus_payload_types: Vec<u8>,
    /// Number of `m=audio` sections; we answer the first and the stack rejects the rest.
    pub audio_sections: usize,
    /// Number of non-audio sections (video, data channel), which the answer will reject.
    pub other_sections: usize,
    /// `address:port` of every `a=candidate` line, for logs (non-trickle callers put them all
    /// in the offer; a trickle caller may send none).
    pub candidates: Vec<String>,
}

/// Checks that `sdp` is a plausible WebRTC audio offer and summarises it.
pub fn inspect_offer(sdp: &str) -> Result<OfferSummary, OfferError> {
    if sdp.trim().is_empty() {
        return Err(OfferError::Empty);
    }
    if sdp.len() > MAX_OFFER_BYTES {
        return Err(OfferError::TooLarge { len: sdp.len() });
    }
    // Leading blank lines or a BOM are a client bug, but harmless; the stack tolerates neither,
    // so they are rejected here with a clear message rather than a parse position.
    if !sdp.starts_with("v=0") {
        return Err(OfferError::NotSdp);
    }

    let mut summary = OfferSummary::default();
    let mut in_audio = false;
    // Payload types listed on the current audio m= line: an rtpmap is only honoured for those.
    let mut audio_formats: Vec<u8> = Vec::new();
    let (mut has_ufrag, mut has_pwd, mut has_fingerprint) = (false, false, false);
    // The first audio section's mid, and every mid named by a BUNDLE group.
    let mut audio_mid: Option<String> = None;
    let mut bundled: Vec<String> = Vec::new();

    // SDP lines end in CRLF, but LF alone is common from hand-written or JSON-mangled offers.
    for line in sdp.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(media) = line.strip_prefix("m=") {
            let mut fields = media.split_ascii_whitespace();
            in_audio = fields.next() == Some("audio");
            if in_audio {
                summary.audio_sections += 1;
                // m=audio <port> <proto> <fmt> ...
                audio_formats = fields.skip(2).filter_map(|f| f.parse().ok()).collect();
            } else {
                summary.other_sections += 1;
            }
            continue;
        }
        let Some(attr) = line.strip_prefix("a=") else { continue };
        let (key, value) = attr.split_once(':').unwrap_or((attr, ""));
        match key {
            "ice-ufrag" => has_ufrag = true,
            "ice-pwd" => has_pwd = true,
            "fingerprint" => has_fingerprint = true,
            "mid" if in_audio && summary.audio_sections == 1 => audio_mid = Some(value.trim().to_owned()),
            "group" => {
                let mut fields = value.split_ascii_whitespace();
                if fields.next() == Some("BUNDLE") {
                    bundled.extend(fields.map(str::to_owned));
                }
            }
            "candidate" => {
                // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
                let fields: Vec<&str> = value.split_ascii_whitespace().collect();
                if let (Some(addr), Some(port)) = (fields.get(4), fields.get(5)) {
                    summary.candidates.push(format!("{addr}:{port}"));
                }
            }
            "rtpmap" if in_audio => {
                if let Some(pt) = opus_rtpmap(value)
                    && audio_formats.contains(&pt)
                    && !summary.opus_payload_types.contains(&pt)
                {
                    summary.opus_payload_types.push(pt);
                }
            }
            _ => {}
        }
    }

    if summary.audio_sections == 0 {
        return Err(OfferError::NoAudio);
    }
    if summary.opus_payload_types.is_empty() {
        return Err(OfferError::NoOpus);
    }
    if !(has_ufrag && has_pwd) {
        return Err(OfferError::NoIceCredentials);
    }
    if !has_fingerprint {
        return Err(OfferError::NoFingerprint);
    }
    if !audio_mid.is_some_and(|mid| bundled.contains(&mid)) {
        return Err(OfferError::NotBundled);
    }
    Ok(summary)
}

/// `111 opus/48000/2` → Some(111). Encoding names are case-insensitive (RFC 4855 §3).
fn opus_rtpmap(value: &str) -> Option<u8> {
    let (pt, encoding) = value.split_once(' ')?;
    let name = encoding.split('/').next()?;
    if name.trim().eq_ignore_ascii_case("opus") { pt.trim().parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like a Chromium audio-only offer (trimmed), with CRLF endings.
    const CHROME_LIKE: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n\
        a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n\
        a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
        a=rtpmap:63 red/48000/2\r\na=rtpmap:126 telephone-event/8000\r\n";

    #[test]
    fn summarises_a_browser_offer() {
        let s = inspect_offer(CHROME_LIKE).expect("valid");
        assert_eq!(s.opus_payload_types, vec![111]);
        assert_eq!((s.audio_sections, s.other_sections), (1, 0));
        assert_eq!(s.candidates, vec!["127.0.0.1:50000".to_string()]);
    }

    #[test]
    fn accepts_lf_only_and_upper_case_encoding() {
        let sdp = CHROME_LIKE.replace("\r\n", "\n").replace("opus/48000", "OPUS/48000").replace("111", "96");
        assert_eq!(inspect_offer(&sdp).expect("valid").opus_payload_types, vec![96]);
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(inspect_offer(""), Err(OfferError::Empty));
        assert_eq!(inspect_offer("  \r\n"), Err(OfferError::Empty));
        assert_eq!(inspect_offer("hello"), Err(OfferError::NotSdp));
        assert_eq!(inspect_offer(&"v=0\n".repeat(20_000)), Err(OfferError::TooLarge { len: 80_000 }));
        assert_eq!(inspect_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"), Err(OfferError::NoAudio));
        let no_opus = CHROME_LIKE.replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000");
        assert_eq!(inspect_offer(&no_opus), Err(OfferError::NoOpus));
        // An rtpmap for a payload type the m= line does not list does not count.
        let unlisted = CHROME_LIKE.replace("SAVPF 111 63", "SAVPF 63");
        assert_eq!(inspect_offer(&unlisted), Err(OfferError::NoOpus));
        assert_eq!(inspect_offer(&CHROME_LIKE.replace("a=ice-pwd", "a=x")), Err(OfferError::NoIceCredentials));
        assert_eq!(inspect_offer(&CHROME_LIKE.replace("a=fingerprint", "a=x")), Err(OfferError::NoFingerprint));
        assert_eq!(inspect_offer(&CHROME_LIKE.replace("a=group:BUNDLE 0\r\n", "")), Err(OfferError::NotBundled));
        assert_eq!(inspect_offer(&CHROME_LIKE.replace("a=mid:0", "a=mid:1")), Err(OfferError::NotBundled));
    }

    #[test]
    fn never_panics_on_truncated_or_odd_lines() {
        for cut in 0..CHROME_LIKE.len() {
            if CHROME_LIKE.is_char_boundary(cut) {
                let _ = inspect_offer(&CHROME_LIKE[..cut]);
            }
        }
        let odd = "v=0\nm=\nm=audio\na=\na=rtpmap:\na=rtpmap:x opus\na=rtpmap:300 opus/1\na=candidate:\n";
        assert_eq!(inspect_offer(odd), Err(OfferError::NoOpus));
    }
}

use super::*;

fn cfg(codecs: Vec<Codec>) -> Vec<Codec> {
    codecs
}

const LOCAL: &str = "127.0.0.1:40000";

/// Offer in, full answer text out, as the UAS renders it.
fn answer(offer: &[u8], codecs: &[Codec]) -> Result<(String, Negotiated), OfferError> {
    let offer = read_offer(offer, codecs)?;
    let local: SocketAddr = LOCAL.parse().expect("addr");
    let sdp = LocalSession::new(1).describe(local, &answer_media(&offer, local.port()));
    Ok((sdp, offer.media))
}

const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

const RICH_OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=video 7000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
m=audio 6000 RTP/AVP 111 8 0 101\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n";

#[test]
fn answers_sipp_with_pcmu() {
    let (sdp, n) = answer(SIPP_OFFER.as_bytes(), &cfg(vec![Codec::Pcmu, Codec::Pcma])).expect("answer");
    assert_eq!((n.codec, n.payload_type, n.dtmf_payload_type), (Codec::Pcmu, 0, None));
    assert_eq!(n.remote_rtp, "127.0.0.1:6000".parse::<SocketAddr>().expect("addr"));
    assert!(sdp.contains("m=audio 40000 RTP/AVP 0\r\n"), "{sdp}");
}

#[test]
fn keeps_offerer_order_rejects_video_and_keeps_dtmf() {
    let (sdp, n) = answer(RICH_OFFER.as_bytes(), &cfg(vec![Codec::Pcmu, Codec::Pcma])).expect("answer");
    assert_eq!((n.codec, n.payload_type, n.dtmf_payload_type), (Codec::Pcma, 8, Some(101)));
    assert_eq!(n.direction, Direction::RecvOnly);
    assert!(sdp.contains("m=video 0 RTP/AVP 96\r\nm=audio 40000 RTP/AVP 8 101\r\n"), "{sdp}");
    assert!(sdp.contains("a=fmtp:101 0-16\r\n"), "{sdp}");
    let (sdp, n) = answer(RICH_OFFER.as_bytes(), &cfg(vec![Codec::Opus, Codec::Pcmu])).expect("answer");
    assert_eq!((n.codec, n.payload_type, n.dtmf_payload_type), (Codec::Opus, 111, None));
    assert!(sdp.contains("a=fmtp:111 useinbandfec=1\r\n"), "{sdp}");
}

#[test]
fn refuses_unusable_offers() {
    let g729 = SIPP_OFFER.replace("RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 18\r\na=rtpmap:18 G729/8000");
    assert_eq!(answer(g729.as_bytes(), &cfg(vec![Codec::Pcmu])).err(), Some(OfferError::NotAcceptable));
    assert!(matches!(answer(b"hello", &cfg(vec![Codec::Pcmu])), Err(OfferError::Malformed(_))));
    assert!(matches!(answer(b"\xff\xfe", &cfg(vec![Codec::Pcmu])), Err(OfferError::Malformed(_))));
    let srtp = SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP");
    assert_eq!(answer(srtp.as_bytes(), &[Codec::Pcmu]).err(), Some(OfferError::NotAcceptable));
    let no_c = SIPP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
    assert!(matches!(answer(no_c.as_bytes(), &[Codec::Pcmu]), Err(OfferError::Malformed(_))));
    let fqdn = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 media.example.com");
    assert_eq!(answer(fqdn.as_bytes(), &[Codec::Pcmu]).err(), Some(OfferError::NotAcceptable));
    let disabled = SIPP_OFFER.replace("m=audio 6000", "m=audio 0");
    assert_eq!(answer(disabled.as_bytes(), &[Codec::Pcmu]).err(), Some(OfferError::NotAcceptable));
}

#[test]
fn our_offer_parses_back() {
    let c = cfg(vec![Codec::Pcmu, Codec::Pcma, Codec::Opus]);
    let local: SocketAddr = LOCAL.parse().expect("addr");
    let o = LocalSession::new(5).describe(local, &offer_media(&c, local.port()));
    let (_, n) = answer(o.as_bytes(), &c).expect("own offer is answerable");
    assert_eq!((n.codec, n.dtmf_payload_type), (Codec::Pcmu, Some(101)));
    assert!(o.contains("m=audio 40000 RTP/AVP 0 8 96 101 102\r\n"), "{o}");
    let opus_only = read_answer(o.replace("RTP/AVP 0 8 96 101 102", "RTP/AVP 96 102").as_bytes(), &c).expect("opus");
    assert_eq!((opus_only.codec, opus_only.payload_type, opus_only.dtmf_payload_type), (Codec::Opus, 96, Some(102)));
}

#[test]
fn direction_is_mirrored_per_rfc3264() {
    for (offered, ours) in [
        ("a=sendrecv", Direction::SendRecv),
        ("a=sendonly", Direction::RecvOnly),
        ("a=recvonly", Direction::SendOnly),
        ("a=inactive", Direction::Inactive),
        ("", Direction::SendRecv),
    ] {
        let offer = format!("{SIPP_OFFER}{offered}\r\n");
        let (sdp, n) = answer(offer.as_bytes(), &[Codec::Pcmu]).expect("answer");
        assert_eq!(n.direction, ours, "{offered}");
        let attribute = match ours {
            Direction::SendRecv => "a=sendrecv",
            Direction::SendOnly => "a=sendonly",
            Direction::RecvOnly => "a=recvonly",
            Direction::Inactive => "a=inactive",
        };
        assert!(sdp.ends_with(&format!("{attribute}\r\n")), "{offered}: {sdp}");
    }
    // Session-level attribute applies to the media below it.
    let session_level = SIPP_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    assert_eq!(answer(session_level.as_bytes(), &[Codec::Pcmu]).expect("answer").1.direction, Direction::RecvOnly);
    // RFC 2543 hold: c=0.0.0.0 means "do not send to me".
    let hold = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let (sdp, n) = answer(hold.as_bytes(), &[Codec::Pcmu]).expect("hold is answered, not refused");
    assert_eq!((n.direction, n.remote_rtp), (Direction::RecvOnly, "0.0.0.0:6000".parse().expect("addr")));
    assert!(!n.direction.sends() && n.direction.receives());
    assert!(sdp.contains("a=recvonly\r\n"), "{sdp}");
}

#[test]
fn exposes_ptime_fmtp_and_media_level_address() {
    let offer = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=ptime:30\r\n\
m=audio 5004 RTP/AVPF 109 110\r\nc=IN IP6 2001:db8::7\r\na=rtpmap:109 opus/48000/2\r\n\
a=fmtp:109 maxplaybackrate=16000; useinbandfec=1;usedtx\r\na=rtpmap:110 telephone-event/48000\r\na=ptime:40\r\n";
    let (sdp, n) = answer(offer.as_bytes(), &[Codec::Pcmu, Codec::Opus]).expect("answer");
    assert_eq!(n.remote_rtp, "[2001:db8::7]:5004".parse::<SocketAddr>().expect("addr"));
    assert_eq!((n.ptime, n.dtmf_payload_type), (Some(40), Some(110)));
    assert_eq!(n.fmtp_param("maxplaybackrate"), Some("16000"));
    assert_eq!(n.fmtp_param("useinbandfec"), Some("1"));
    assert_eq!(n.fmtp_param("usedtx"), Some(""));
    assert_eq!(n.fmtp_param("stereo"), None);
    assert!(
        sdp.contains("m=audio 40000 RTP/AVPF 109 110\r\na=rtpmap:109 opus/48000/2\r\na=fmtp:109 useinbandfec=1\r\n"),
        "{sdp}"
    );
    assert!(sdp.contains("a=rtpmap:110 telephone-event/48000\r\na=fmtp:110 0-15\r\n"), "{sdp}");
    let session_ptime = offer.replace("a=ptime:40\r\n", "");
    assert_eq!(answer(session_ptime.as_bytes(), &[Codec::Opus]).expect("answer").1.ptime, Some(30));
    // 8 kHz telephone-event does not go with 48 kHz Opus.
    let wrong_rate = offer.replace("telephone-event/48000", "telephone-event/8000");
    assert_eq!(answer(wrong_rate.as_bytes(), &[Codec::Opus]).expect("answer").1.dtmf_payload_type, None);
}

#[test]
fn answer_carries_the_given_address_and_versions_only_grow_on_change() {
    let offer = read_offer(SIPP_OFFER.as_bytes(), &[Codec::Pcmu]).expect("offer");
    let mut session = LocalSession::new(77);
    let v6: SocketAddr = "[2001:db8::1]:41000".parse().expect("addr");
    let first = session.describe(v6, &answer_media(&offer, v6.port()));
    assert!(
        first.starts_with("v=0\r\no=callbot 77 1 IN IP6 2001:db8::1\r\ns=callbot\r\nc=IN IP6 2001:db8::1\r\n"),
        "{first}"
    );
    assert!(first.contains("m=audio 41000 RTP/AVP 0\r\n"), "{first}");
    assert_eq!(session.describe(v6, &answer_media(&offer, v6.port())), first, "unchanged: same version");
    let held = read_offer(format!("{SIPP_OFFER}a=sendonly\r\n").as_bytes(), &[Codec::Pcmu]).expect("offer");
    assert!(session.describe(v6, &answer_media(&held, v6.port())).contains("o=callbot 77 2 IN"), "changed: version 2");
}

#[test]
fn rtcp_goes_to_the_next_port_to_an_a_rtcp_address_or_muxed() {
    let (sdp, n) = answer(SIPP_OFFER.as_bytes(), &[Codec::Pcmu]).expect("answer");
    assert_eq!((n.remote_rtcp, n.rtcp_mux), ("127.0.0.1:6001".parse::<SocketAddr>().expect("addr"), false));
    assert!(!sdp.contains("a=rtcp"), "our RTCP is on RTP + 1: nothing to say: {sdp}");

    let muxed = SIPP_OFFER.replace("PCMU/8000\r\n", "PCMU/8000\r\na=rtcp-mux\r\n");
    let (sdp, n) = answer(muxed.as_bytes(), &[Codec::Pcmu]).expect("answer");
    assert_eq!((n.remote_rtcp, n.rtcp_mux), (n.remote_rtp, true));
    assert!(sdp.contains("a=rtcp-mux\r\n"), "{sdp}");

    let port_only = SIPP_OFFER.replace("PCMU/8000\r\n", "PCMU/8000\r\na=rtcp:7011\r\n");
    let (_, n) = answer(port_only.as_bytes(), &[Codec::Pcmu]).expect("answer");
    assert_eq!(n.remote_rtcp, "127.0.0.1:7011".parse::<SocketAddr>().expect("addr"));
    let elsewhere = SIPP_OFFER.replace("PCMU/8000\r\n", "PCMU/8000\r\na=rtcp:7011 IN IP4 192.0.2.9\r\n");
    let (_, n) = answer(elsewhere.as_bytes(), &[Codec::Pcmu]).expect("answer");
    assert_eq!(n.remote_rtcp, "192.0.2.9:7011".parse::<SocketAddr>().expect("addr"));

    // An answer cannot take up rtcp-mux that our offer never proposed.
    let n = read_answer(muxed.as_bytes(), &[Codec::Pcmu]).expect("answer");
    assert_eq!((n.rtcp_mux, n.remote_rtcp.port()), (false, 6001));
}

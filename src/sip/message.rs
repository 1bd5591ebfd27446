//! One message in (a UDP datagram, or a frame cut by [`super::framing`]), a validated
//! `Request` or `Reply` (or a reason to refuse it) out; and the writer for our responses.
//!
//! ezk-sip-types parses lines (start line, `Name: value`) and typed header values on demand; it
//! leaves message framing to the caller. So Content-Length checks, mandatory-header checks and
//! the method spelling (ezk matches known methods case-insensitively by prefix, so `INVITEX`
//! would read as INVITE) are done here.

use super::Transport;
use bytes::Bytes;
use ezk_sip_types::Name;
use ezk_sip_types::header::HeaderParse;
use ezk_sip_types::header::typed::{CSeq, CallID, ContentLength, FromTo, Via};
use ezk_sip_types::msg::{Line, MessageLine, PullParser};
use ezk_sip_types::parse::Parse;
use ezk_sip_types::uri::SipUri;
use ezk_sip_types::{Headers, host::Host};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Value of our Server and User-Agent headers.
pub const PRODUCT: &str = "callbot";

/// A parsed message: a request for us, or a response to a request we sent.
#[derive(Debug)]
pub enum Parsed {
    Request(Box<Request>),
    Reply(Reply),
}

/// A response to one of our requests, reduced to what client-transaction matching needs
/// (RFC 3261 §17.1.3: top Via branch plus CSeq method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub branch: String,
    pub call_id: String,
    pub cseq: u32,
    /// CSeq method as spelled on the wire.
    pub cseq_method: String,
}

/// A request whose mandatory headers (RFC 3261 §8.1.1) all parsed.
#[derive(Debug)]
pub struct Request {
    /// Method exactly as spelled on the wire (methods are case-sensitive).
    pub method: String,
    /// The Request-URI.
    pub uri: SipUri,
    pub headers: Headers,
    pub body: Bytes,
    /// Top Via, where responses go (§18.2.2).
    pub top_via: Via,
    /// Top Via branch; empty for pre-RFC 3261 clients (we then match on Call-ID + CSeq only).
    pub branch: String,
    pub call_id: String,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
    pub cseq: u32,
    /// Raw header values echoed into every response.
    pub echo: Echo,
}

/// Header values copied verbatim into responses (§8.2.6.2): copying raw text keeps whatever
/// the client sent, including parameters we do not understand.
#[derive(Debug, Default, Clone)]
pub struct Echo {
    pub via: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_id: Option<String>,
    pub cseq: Option<String>,
}

/// Why a message was not turned into a `Request` or `Reply`.
#[derive(Debug)]
pub enum Refused {
    /// Not SIP, a keep-alive, or a response too damaged to match: drop silently.
    Drop(&'static str),
    /// A request we can only answer with an error status.
    Reject(Box<Rejection>),
}

/// An error answer owed to a request that failed validation.
#[derive(Debug)]
pub struct Rejection {
    pub method: String,
    pub status: u16,
    pub reason: &'static str,
    pub echo: Echo,
    pub top_via: Option<Via>,
}

/// Parses one whole message. Over a stream `message` is exactly one frame, and a missing
/// Content-Length is an error (§18.3); over UDP the body runs to the end of the datagram.
pub fn parse(message: &[u8], transport: Transport) -> Result<Parsed, Refused> {
    if message.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0)) {
        return Err(Refused::Drop("keep-alive or empty"));
    }
    let buf = Bytes::copy_from_slice(message);
    let mut lines = PullParser::new(&buf, 0);
    let mut start: Option<&str> = None;
    let mut headers = Headers::new();
    let mut bad_header = false;
    let mut incomplete = false;
    for item in &mut lines {
        let Ok(raw) = item else {
            incomplete = true;
            break;
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            if start.is_none() {
                return Err(Refused::Drop("start line is not UTF-8"));
            }
            bad_header = true;
            continue;
        };
        if start.is_none() {
            start = Some(line);
            continue;
        }
        match Line::parse(&buf, line) {
            Ok((_, l)) => headers.insert(l.name, l.value),
            Err(_) => bad_header = true,
        }
    }
    let Some(start) = start else {
        return Err(Refused::Drop("no start line"));
    };
    if start.starts_with("SIP/") {
        if incomplete || bad_header {
            return Err(Refused::Drop("malformed response"));
        }
        return parse_reply(start, &headers).map(Parsed::Reply);
    }
    let method = classify_start_line(&buf, start)?;
    let echo = echo_of(&headers);
    let vias = headers.get_named::<Vec<Via>>().ok().filter(|v| !v.is_empty());
    let top_via = vias.and_then(|mut v| if v.is_empty() { None } else { Some(v.remove(0)) });
    let reject = |status, reason| {
        Refused::Reject(Box::new(Rejection {
            method: method.clone(),
            status,
            reason,
            echo: echo.clone(),
            top_via: top_via.clone(),
        }))
    };
    let uri = match check_start_line(&buf, start) {
        Ok(uri) => uri,
        Err((status, reason)) => return Err(reject(status, reason)),
    };
    if incomplete {
        return Err(reject(400, "Incomplete Message Head"));
    }
    if bad_header {
        return Err(reject(400, "Malformed Header Line"));
    }
    let head_end = lines.head_end();
    let body = match headers.try_get_named::<ContentLength>() {
        None if transport.is_reliable() => return Err(reject(400, "Missing Content-Length")),
        None => buf.slice(head_end..),
        Some(Ok(ContentLength(n))) => match head_end.checked_add(n) {
            Some(end) if end <= buf.len() => buf.slice(head_end..end),
            _ => return Err(reject(400, "Content-Length Exceeds Message")),
        },
        Some(Err(_)) => return Err(reject(400, "Bad Content-Length")),
    };
    let Some(top_via) = top_via.clone() else {
        return Err(reject(400, "Missing or Bad Via"));
    };
    let Ok(from) = headers.get::<FromTo>(Name::FROM) else {
        return Err(reject(400, "Missing or Bad From"));
    };
    let Ok(to) = headers.get::<FromTo>(Name::TO) else {
        return Err(reject(400, "Missing or Bad To"));
    };
    let Ok(CallID(call_id)) = headers.get_named::<CallID>() else {
        return Err(reject(400, "Missing or Bad Call-ID"));
    };
    let Ok(cseq) = headers.get_named::<CSeq>() else {
        return Err(reject(400, "Missing or Bad CSeq"));
    };
    // Compare the CSeq method as spelled, not ezk's case-insensitive prefix match.
    let cseq_method = echo.cseq.as_deref().and_then(|c| c.split_whitespace().nth(1));
    if cseq_method != Some(method.as_str()) {
        return Err(reject(400, "CSeq Method Mismatch"));
    }
    let branch = top_via.params.get_val("branch").map(|b| b.to_string()).unwrap_or_default();
    Ok(Parsed::Request(Box::new(Request {
        method,
        uri,
        headers,
        body,
        top_via,
        branch,
        call_id: call_id.to_string(),
        from_tag: from.tag.map(|t| t.to_string()),
        to_tag: to.tag.map(|t| t.to_string()),
        cseq: cseq.cseq,
        echo,
    })))
}

fn parse_reply(start: &str, headers: &Headers) -> Result<Reply, Refused> {
    let status = start
        .strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.split(' ').next())
        .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..700).contains(code));
    let Some(status) = status else { return Err(Refused::Drop("malformed status line")) };
    let branch = headers
        .get_named::<Vec<Via>>()
        .ok()
        .and_then(|vias| vias.into_iter().next().and_then(|v| v.params.get_val("branch").map(|b| b.to_string())));
    let raw_cseq = headers.get_raw(&Name::CSEQ).next();
    let cseq_method = raw_cseq.and_then(|c| c.split_whitespace().nth(1)).map(str::to_string);
    let (Some(branch), Ok(CallID(call_id)), Ok(cseq), Some(cseq_method)) =
        (branch, headers.get_named::<CallID>(), headers.get_named::<CSeq>(), cseq_method)
    else {
        return Err(Refused::Drop("response without Via branch, Call-ID or CSeq"));
    };
    Ok(Reply { status, branch, call_id: call_id.to_string(), cseq: cseq.cseq, cseq_method })
}

/// Decides from the start line whether this is a request at all; returns the method token.
fn classify_start_line(buf: &Bytes, start: &str) -> Result<String, Refused> {
    let mut parts = start.split(' ');
    let (Some(method), Some(_uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // Not even `METHOD SP URI SP VERSION`: could be anything (HTTP, noise).
        return match MessageLine::parse(buf)(start) {
            Ok(_) => Err(Refused::Drop("odd request line")),
            Err(_) => Err(Refused::Drop("not a SIP start line")),
        };
    };
    let is_token = !method.is_empty() && method.bytes().all(is_token_char);
    if !is_token || !version.starts_with("SIP/") {
        return Err(Refused::Drop("not a SIP request line"));
    }
    Ok(method.to_string())
}

/// Request-line problems we answer with an error status (§8.2.2.1, §21.5.6, §21.4.xx);
/// the parsed Request-URI otherwise.
fn check_start_line(buf: &Bytes, start: &str) -> Result<SipUri, (u16, &'static str)> {
    let mut parts = start.split(' ');
    let (_method, uri, version) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if version != "SIP/2.0" {
        return Err((505, "Version Not Supported"));
    }
    let scheme = uri.split(':').next().unwrap_or("").to_ascii_lowercase();
    if scheme != "sip" && scheme != "sips" {
        return Err((416, "Unsupported URI Scheme"));
    }
    match MessageLine::parse(buf)(start) {
        Ok(("", MessageLine::Request(line))) => Ok(line.uri),
        _ => Err((400, "Bad Request-URI")),
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn echo_of(headers: &Headers) -> Echo {
    let first = |name: &Name| headers.get_raw(name).next().map(|v| v.to_string());
    Echo {
        via: headers.get_raw(&Name::VIA).map(|v| v.to_string()).collect(),
        from: first(&Name::FROM),
        to: first(&Name::TO),
        call_id: first(&Name::CALL_ID),
        cseq: first(&Name::CSEQ),
    }
}

/// Where a response goes over UDP (§18.2.2 with RFC 3581 rport): the source address when the
/// top Via asks for rport or names a different host (NAT), else Via sent-by.
pub fn response_target(source: SocketAddr, top_via: Option<&Via>) -> SocketAddr {
    let Some(via) = top_via else { return source };
    if via.params.get("rport").is_some() {
        return source;
    }
    let via_ip: Option<IpAddr> = match &via.sent_by.host {
        Host::IP4(ip) => Some(IpAddr::V4(*ip)),
        Host::IP6(ip) => Some(IpAddr::V6(*ip)),
        Host::Name(_) => None,
    };
    let port = match via.sent_by.port {
        // Port 0 cannot be sent to: a broken Via, so answer where the request came from.
        Some(0) => source.port(),
        Some(port) => port,
        None if via_ip == Some(source.ip()) => 5060,
        // `received` semantics: answer the address the request really came from.
        None => source.port(),
    };
    SocketAddr::new(source.ip(), port)
}

/// A response we are about to send. Headers beyond the echoed ones and Server are added by
/// the caller.
pub struct Response<'a> {
    pub status: u16,
    pub reason: &'a str,
    pub echo: &'a Echo,
    /// Appended to To when the request's To had no tag (§8.2.6.2; not on 100 Trying).
    pub to_tag: Option<&'a str>,
    pub extra: Vec<(&'static str, String)>,
    pub body: Option<(&'static str, &'a [u8])>,
}

impl Response<'_> {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512);
        // Writing into a String cannot fail.
        let _ = write!(s, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        for via in &self.echo.via {
            let _ = write!(s, "Via: {via}\r\n");
        }
        if let Some(from) = &self.echo.from {
            let _ = write!(s, "From: {from}\r\n");
        }
        if let Some(to) = &self.echo.to {
            match self.to_tag {
                Some(tag) if !has_tag(to) => {
                    let _ = write!(s, "To: {to};tag={tag}\r\n");
                }
                _ => {
                    let _ = write!(s, "To: {to}\r\n");
                }
            }
        }
        if let Some(call_id) = &self.echo.call_id {
            let _ = write!(s, "Call-ID: {call_id}\r\n");
        }
        if let Some(cseq) = &self.echo.cseq {
            let _ = write!(s, "CSeq: {cseq}\r\n");
        }
        for (name, value) in &self.extra {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        let _ = write!(s, "Server: {PRODUCT}\r\n");
        let body: &[u8] = match &self.body {
            Some((content_type, body)) => {
                let _ = write!(s, "Content-Type: {content_type}\r\n");
                body
            }
            None => &[],
        };
        let _ = write!(s, "Content-Length: {}\r\n\r\n", body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

fn has_tag(to: &str) -> bool {
    // ezk parsers take the owning buffer plus a &str that MUST be a sub-slice of it
    // (bytes::Bytes::slice_ref asserts that): always derive the &str from the same Bytes.
    let buf = Bytes::copy_from_slice(to.as_bytes());
    let Ok(value) = std::str::from_utf8(&buf) else { return false };
    FromTo::parse(&buf, value).map(|(_, ft)| ft.tag.is_some()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:bot@127.0.0.1:5070 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-a;rport\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

    fn parse_request(d: &[u8]) -> Result<Request, Refused> {
        match parse(d, Transport::Udp)? {
            Parsed::Request(r) => Ok(*r),
            Parsed::Reply(_) => Err(Refused::Drop("a response")),
        }
    }

    fn status_of(d: &[u8]) -> Option<u16> {
        match parse_request(d) {
            Ok(_) => Some(200),
            Err(Refused::Reject(r)) => Some(r.status),
            Err(Refused::Drop(_)) => None,
        }
    }

    #[test]
    fn accepts_a_plain_options() {
        let r = parse_request(OPTIONS.as_bytes()).expect("valid");
        assert_eq!(r.method, "OPTIONS");
        assert_eq!(r.branch, "z9hG4bK-a");
        assert_eq!(r.from_tag.as_deref(), Some("1"));
        assert_eq!(r.to_tag, None);
        assert_eq!(r.cseq, 1);
        assert!(r.uri.user_part == ezk_sip_types::uri::SipUriUserPart::User("bot".into()));
    }

    #[test]
    fn streams_need_content_length() {
        let no_length = OPTIONS.replace("Content-Length: 0\r\n", "");
        assert!(parse_request(no_length.as_bytes()).is_ok(), "UDP: the datagram ends the body");
        let Err(Refused::Reject(r)) = parse(no_length.as_bytes(), Transport::Tcp) else { panic!("must reject") };
        assert_eq!((r.status, r.reason), (400, "Missing Content-Length"));
        assert!(matches!(parse(OPTIONS.as_bytes(), Transport::Tcp), Ok(Parsed::Request(_))));
    }

    #[test]
    fn parses_responses_for_transaction_matching() {
        let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx, SIP/2.0/UDP p;branch=z9hG4bKy\r\n\
From: <sip:bot@h>;tag=a\r\nTo: <sip:u@h>;tag=b\r\nCall-ID: c9\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
        let Ok(Parsed::Reply(r)) = parse(ok.as_bytes(), Transport::Udp) else { panic!("reply") };
        assert_eq!(
            r,
            Reply { status: 200, branch: "z9hG4bKx".into(), call_id: "c9".into(), cseq: 7, cseq_method: "BYE".into() }
        );
        for broken in [ok.replace("200 OK", "2000 OK"), ok.replace("200", "099"), ok.replace("CSeq: 7 BYE\r\n", "")] {
            assert!(matches!(parse(broken.as_bytes(), Transport::Udp), Err(Refused::Drop(_))), "{broken}");
        }
    }

    #[test]
    fn refuses_what_it_must() {
        let cut = OPTIONS.replace("Content-Length: 0", "Content-Length: 10");
        assert_eq!(status_of(cut.as_bytes()), Some(400));
        let no_call_id = OPTIONS.replace("Call-ID: c1\r\n", "");
        assert_eq!(status_of(no_call_id.as_bytes()), Some(400));
        let mismatch = OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(status_of(mismatch.as_bytes()), Some(400));
        let tel = OPTIONS.replace("OPTIONS sip:bot@127.0.0.1:5070", "OPTIONS tel:+1555");
        assert_eq!(status_of(tel.as_bytes()), Some(416));
        let v3 = OPTIONS.replace("5070 SIP/2.0", "5070 SIP/3.0");
        assert_eq!(status_of(v3.as_bytes()), Some(505));
        let bad_line = OPTIONS.replace("Call-ID: c1\r\n", "Call-ID: c1\r\nthis is no header\r\n");
        assert_eq!(status_of(bad_line.as_bytes()), Some(400));
        assert_eq!(status_of(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(status_of(b"\r\n\r\n"), None);
        assert_eq!(status_of(b"SIP/2.0 200 OK\r\n\r\n"), None, "a response matching nothing");
        assert_eq!(status_of(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn response_target_never_port_zero() {
        let source: SocketAddr = "127.0.0.1:5999".parse().expect("addr");
        let via = |v: &str| {
            parse_request(OPTIONS.replace("127.0.0.1:5061;branch=z9hG4bK-a;rport", v).as_bytes())
                .expect("valid")
                .top_via
        };
        assert_eq!(response_target(source, Some(&via("127.0.0.1:5061;branch=b"))).port(), 5061);
        assert_eq!(response_target(source, Some(&via("127.0.0.1;branch=b"))).port(), 5060);
        assert_eq!(response_target(source, Some(&via("127.0.0.1:0;branch=b"))).port(), 5999);
        assert_eq!(response_target(source, Some(&via("10.9.9.9;branch=b"))), source, "NAT: where it came from");
        assert_eq!(response_target(source, Some(&via("127.0.0.1:5061;branch=b;rport"))), source);
    }

    #[test]
    fn method_spelling_is_exact() {
        let odd = OPTIONS.replace("OPTIONS sip", "OPTIONSX sip").replace("1 OPTIONS", "1 OPTIONSX");
        let r = parse_request(odd.as_bytes()).expect("extension method parses");
        assert_eq!(r.method, "OPTIONSX");
    }

    #[test]
    fn adds_to_tag_only_once() {
        let echo = Echo { to: Some("<sip:b@h>;tag=x".into()), ..Default::default() };
        let r = Response { status: 200, reason: "OK", echo: &echo, to_tag: Some("y"), extra: vec![], body: None };
        let text = String::from_utf8(r.to_bytes()).expect("ascii");
        assert!(text.contains("To: <sip:b@h>;tag=x\r\n"), "{text}");
        let echo = Echo { to: Some("<sip:b@h>".into()), ..Default::default() };
        let r = Response { status: 200, reason: "OK", echo: &echo, to_tag: Some("y"), extra: vec![], body: None };
        let text = String::from_utf8(r.to_bytes()).expect("ascii");
        assert!(text.contains("To: <sip:b@h>;tag=y\r\n") && text.contains("Server: callbot\r\n"), "{text}");
    }
}

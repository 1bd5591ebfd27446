//! The UAS half of a dialog: what an initial INVITE tells us (RFC 3261 §12.1.1: remote target
//! from Contact, route set from Record-Route, the parties), and the in-dialog requests we send
//! (BYE, §15.1.1) built from it.
//!
//! URIs and header values are kept as the peer spelled them, only checked with ezk's parsers:
//! re-printing parsed values could drop parameters a proxy relies on, and §12.1.1 asks for the
//! route set "preserving all URI parameters".

use super::Transport;
use super::message::{PRODUCT, Request};
use bytes::Bytes;
use ezk_sip_types::Name;
use ezk_sip_types::header::HeaderParse;
use ezk_sip_types::header::typed::{FromTo, Routing};
use ezk_sip_types::parse::Parse;
use ezk_sip_types::uri::{SipUri, SipUriUserPart};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Who is calling, from the From header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub display_name: Option<String>,
    /// User part of the URI (e.g. a phone number), percent-decoded.
    pub user: Option<String>,
}

/// Caller (From) and callee (Request-URI user) of a request that passed `message::parse`.
pub(crate) fn parties(req: &Request) -> (Party, Option<String>) {
    let caller = match req.headers.get::<FromTo>(Name::FROM) {
        Ok(from) => Party {
            display_name: from.uri.name.as_ref().map(|n| unescape(n)).filter(|n| !n.is_empty()),
            user: user_of(&from.uri.uri),
        },
        Err(_) => Party::default(),
    };
    (caller, user_of(&req.uri))
}

#[derive(Debug)]
pub(crate) struct Dialog {
    pub(crate) local_tag: String,
    pub(crate) remote_tag: Option<String>,
    call_id: String,
    /// The INVITE's To value: our URI, sent back as From with our tag.
    local_uri: String,
    /// The INVITE's From value with the remote tag, sent back as To.
    remote: String,
    /// Contact URI of the peer: the Request-URI of our requests (§12.2.1.1).
    remote_target: String,
    /// Record-Route entries in the order received: a UAS uses them as-is (§12.1.1).
    route_set: Vec<String>,
    /// The first route is a strict (pre-RFC 3261) router: it must get the Request-URI.
    strict_first_hop: bool,
    /// IP-literal next hop for UDP (first route, else the remote target), when there is one.
    udp_next_hop: Option<SocketAddr>,
    /// Our CSeq space, separate from the peer's (§12.2.1.1); 0 until we send a request.
    local_cseq: u32,
    pub(crate) transport: Transport,
}

impl Dialog {
    /// Reads the dialog-forming parts of an initial INVITE; the error is a 400 reason phrase.
    pub(crate) fn from_invite(req: &Request, local_tag: String, transport: Transport) -> Result<Dialog, &'static str> {
        let remote_target = contact_uri(req).ok_or("Missing or Bad Contact")?;
        let mut route_set = Vec::new();
        for value in req.headers.get_raw(&Name::RECORD_ROUTE) {
            for entry in split_list(value) {
                if !parses_as_routing(entry) || uri_of(entry).and_then(parse_uri).is_none() {
                    return Err("Bad Record-Route");
                }
                route_set.push(entry.to_string());
            }
        }
        let first_hop = match route_set.first() {
            Some(route) => uri_of(route).and_then(parse_uri),
            None => parse_uri(&remote_target),
        };
        let strict_first_hop =
            !route_set.is_empty() && first_hop.as_ref().is_some_and(|u| u.uri_params.get("lr").is_none());
        let (Some(local_uri), Some(remote)) = (req.echo.to.clone(), req.echo.from.clone()) else {
            return Err("Missing or Bad From/To");
        };
        Ok(Dialog {
            local_tag,
            remote_tag: req.from_tag.clone(),
            call_id: req.call_id.clone(),
            local_uri,
            remote,
            remote_target,
            route_set,
            strict_first_hop,
            udp_next_hop: first_hop.as_ref().and_then(ip_hop),
            local_cseq: 0,
            transport,
        })
    }

    /// A re-INVITE is a target refresh (§12.2.2): a new Contact replaces the remote target.
    pub(crate) fn refresh_target(&mut self, req: &Request) {
        if let Some(target) = contact_uri(req) {
            if self.route_set.is_empty() {
                self.udp_next_hop = parse_uri(&target).as_ref().and_then(ip_hop);
            }
            self.remote_target = target;
        }
    }

    /// Where a UDP request goes: the IP-literal host of the first route or the remote target.
    /// A host name would need DNS (RFC 3263), which the sans-IO core cannot do: then `fallback`
    /// (the address the dialog's INVITE came from).
    pub(crate) fn udp_next_hop(&self, fallback: SocketAddr) -> SocketAddr {
        self.udp_next_hop.unwrap_or(fallback)
    }

    /// Writes an in-dialog request without body under the next local CSeq; returns it and the CSeq.
    pub(crate) fn request(&mut self, method: &str, branch: &str, sent_by: SocketAddr) -> (Vec<u8>, u32) {
        self.local_cseq += 1;
        let (uri, routes) = if self.strict_first_hop {
            // §12.2.1.1: a strict router takes the Request-URI; the remote target becomes the last route.
            let first = uri_of(&self.route_set[0]).unwrap_or_default();
            let first = first.split('?').next().unwrap_or(first).to_string();
            let mut routes = self.route_set[1..].to_vec();
            routes.push(format!("<{}>", self.remote_target));
            (first, routes)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut s = String::with_capacity(512);
        // Writing into a String cannot fail.
        let _ = write!(s, "{method} {uri} SIP/2.0\r\n");
        let _ = write!(s, "Via: SIP/2.0/{} {sent_by};branch={branch};rport\r\n", self.transport.via_token());
        s.push_str("Max-Forwards: 70\r\n");
        for route in &routes {
            let _ = write!(s, "Route: {route}\r\n");
        }
        let _ = write!(s, "From: {};tag={}\r\n", self.local_uri, self.local_tag);
        let _ = write!(s, "To: {}\r\n", self.remote);
        let _ = write!(s, "Call-ID: {}\r\nCSeq: {} {method}\r\n", self.call_id, self.local_cseq);
        let _ = write!(s, "User-Agent: {PRODUCT}\r\nContent-Length: 0\r\n\r\n");
        (s.into_bytes(), self.local_cseq)
    }
}

/// The URI of the first Contact, if it is a SIP URI.
fn contact_uri(req: &Request) -> Option<String> {
    let value = req.headers.get_raw(&Name::CONTACT).next()?;
    let uri = uri_of(split_list(value).first()?)?;
    parse_uri(uri).map(|_| uri.to_string())
}

fn parses_as_routing(entry: &str) -> bool {
    let buf = Bytes::copy_from_slice(entry.as_bytes());
    // Parsers need a &str borrowed from the very buffer they get.
    let Ok(text) = std::str::from_utf8(&buf) else { return false };
    matches!(Routing::parse(&buf, text), Ok((rest, _)) if rest.trim().is_empty())
}

fn parse_uri(text: &str) -> Option<SipUri> {
    let buf = Bytes::copy_from_slice(text.as_bytes());
    let text = std::str::from_utf8(&buf).ok()?;
    match SipUri::parse(&buf)(text) {
        Ok(("", uri)) => Some(uri),
        _ => None,
    }
}

/// An address we can send to: no host names (DNS), no 0.0.0.0, no port 0.
fn ip_hop(uri: &SipUri) -> Option<SocketAddr> {
    let ip = uri.host_port.ip().filter(|ip| !ip.is_unspecified())?;
    let port = uri.host_port.port.unwrap_or(5060);
    (port != 0).then(|| SocketAddr::new(ip, port))
}

fn user_of(uri: &SipUri) -> Option<String> {
    match &uri.user_part {
        SipUriUserPart::Empty => None,
        SipUriUserPart::User(user) => Some(user.to_string()),
        SipUriUserPart::UserPw(pw) => Some(pw.user.to_string()),
    }
}

/// A quoted display name as ezk hands it out still has its backslash escapes (§25.1 quoted-pair).
fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out
}

/// Splits a header value at the commas that separate entries, not those inside a quoted
/// display name or a `<URI>`.
fn split_list(value: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut angle, mut escaped) = (Vec::new(), 0, false, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|e| !e.is_empty());
    out
}

/// The URI inside `<…>` of a name-addr, or the bare addr-spec up to its header parameters
/// (whose `;` belong to the header when there are no brackets, §20).
fn uri_of(entry: &str) -> Option<&str> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in entry.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => return entry[i + 1..].split_once('>').map(|(uri, _)| uri.trim()),
            _ => {}
        }
    }
    let bare = entry.split(';').next().unwrap_or("").trim();
    (!bare.is_empty() && !bare.contains(' ')).then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Parsed, parse};

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:%2B4930123@10.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5061;branch=z9hG4bK-1\r\n\
From: \"Doe, \\\\JD\\\\ John\" <sip:+4917000@example.com>;tag=ft\r\nTo: <sip:+4930123@example.com>\r\n\
Call-ID: cid-1\r\nCSeq: 10 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes(), Transport::Udp) {
            Ok(Parsed::Request(r)) => *r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_the_parties() {
        let (caller, callee) = parties(&invite(""));
        assert_eq!(caller.display_name.as_deref(), Some("Doe, \\JD\\ John"));
        assert_eq!(caller.user.as_deref(), Some("+4917000"));
        assert_eq!(callee.as_deref(), Some("+4930123"), "percent-decoded Request-URI user");
    }

    #[test]
    fn contact_forms() {
        let target = |c: &str| {
            Dialog::from_invite(&invite(&format!("Contact: {c}\r\n")), "t".into(), Transport::Udp)
                .map(|d| d.remote_target)
        };
        assert_eq!(
            target("<sip:a@10.0.0.9:5061;transport=udp>;expires=60").as_deref(),
            Ok("sip:a@10.0.0.9:5061;transport=udp")
        );
        assert_eq!(target("\"x <y>, z\" <sip:a@10.0.0.9>").as_deref(), Ok("sip:a@10.0.0.9"));
        assert_eq!(
            target("sip:a@10.0.0.9:5061;expires=60").as_deref(),
            Ok("sip:a@10.0.0.9:5061"),
            "bare: params are the header's"
        );
        assert_eq!(target("<sip:a@h1>, <sip:b@h2>").as_deref(), Ok("sip:a@h1"));
        for bad in ["*", "<tel:+1555>", "<sip:a@h", "nonsense here"] {
            assert_eq!(target(bad).err(), Some("Missing or Bad Contact"), "{bad}");
        }
        let none = Dialog::from_invite(&invite(""), "t".into(), Transport::Udp);
        assert_eq!(none.err().map(|_| ()), Some(()));
    }

    #[test]
    fn bye_follows_the_record_route_set_in_order() {
        let req = invite(
            "Contact: <sip:ua@10.0.0.9:5061>\r\nRecord-Route: <sip:p1.example.com;lr;ftag=x>, <sip:10.0.0.2;lr>\r\n\
Record-Route: \"edge, west\" <sip:10.0.0.3:5080;lr>\r\n",
        );
        let mut d = Dialog::from_invite(&req, "lt".into(), Transport::Tcp).expect("dialog");
        let (bye, cseq) = d.request("BYE", "z9hG4bKabc", "10.0.0.1:5070".parse().expect("addr"));
        let bye = String::from_utf8(bye).expect("ascii");
        let want = "BYE sip:ua@10.0.0.9:5061 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bKabc;rport\r\n\
Max-Forwards: 70\r\nRoute: <sip:p1.example.com;lr;ftag=x>\r\nRoute: <sip:10.0.0.2;lr>\r\n\
Route: \"edge, west\" <sip:10.0.0.3:5080;lr>\r\nFrom: <sip:+4930123@example.com>;tag=lt\r\n\
To: \"Doe, \\\\JD\\\\ John\" <sip:+4917000@example.com>;tag=ft\r\nCall-ID: cid-1\r\nCSeq: 1 BYE\r\n\
User-Agent: callbot\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(bye, want);
        assert_eq!(cseq, 1);
        assert_eq!(d.request("BYE", "z9hG4bKdef", "10.0.0.1:5070".parse().expect("addr")).1, 2, "CSeq grows");
        let fallback = "192.0.2.1:7000".parse().expect("addr");
        assert_eq!(d.udp_next_hop(fallback), fallback, "first route is a host name: no DNS here");
        let parsed = parse(want.as_bytes(), Transport::Tcp);
        assert!(matches!(parsed, Ok(Parsed::Request(r)) if r.method == "BYE" && r.cseq == 1), "our BYE parses");
    }

    #[test]
    fn next_hop_and_strict_routing() {
        let req = invite("Contact: <sip:ua@10.0.0.9:5061>\r\n");
        let d = Dialog::from_invite(&req, "lt".into(), Transport::Udp).expect("dialog");
        assert_eq!(
            d.udp_next_hop("192.0.2.1:7000".parse().expect("addr")),
            "10.0.0.9:5061".parse::<SocketAddr>().expect("addr")
        );
        let req = invite("Contact: <sip:ua@10.0.0.9:5061>\r\nRecord-Route: <sip:10.0.0.5?X=y>, <sip:10.0.0.6;lr>\r\n");
        let mut d = Dialog::from_invite(&req, "lt".into(), Transport::Udp).expect("dialog");
        assert_eq!(
            d.udp_next_hop("192.0.2.1:7000".parse().expect("addr")),
            "10.0.0.5:5060".parse::<SocketAddr>().expect("addr")
        );
        let bye =
            String::from_utf8(d.request("BYE", "z9hG4bK1", "10.0.0.1:5070".parse().expect("addr")).0).expect("ascii");
        assert!(bye.starts_with("BYE sip:10.0.0.5 SIP/2.0\r\n"), "{bye}");
        assert!(bye.contains("Route: <sip:10.0.0.6;lr>\r\nRoute: <sip:ua@10.0.0.9:5061>\r\n"), "{bye}");
        let bad = invite("Contact: <sip:ua@10.0.0.9>\r\nRecord-Route: <sip:10.0.0.6;lr>, <garbage>\r\n");
        assert_eq!(Dialog::from_invite(&bad, "lt".into(), Transport::Udp).err(), Some("Bad Record-Route"));
    }

    #[test]
    fn target_refresh() {
        let mut d = Dialog::from_invite(&invite("Contact: <sip:ua@10.0.0.9>\r\n"), "lt".into(), Transport::Udp)
            .expect("dialog");
        d.refresh_target(&invite("Contact: <sip:ua@10.0.0.77:5099>\r\n"));
        assert_eq!(d.remote_target, "sip:ua@10.0.0.77:5099");
        assert_eq!(
            d.udp_next_hop("192.0.2.1:7000".parse().expect("addr")),
            "10.0.0.77:5099".parse::<SocketAddr>().expect("addr")
        );
        d.refresh_target(&invite("Contact: *\r\n"));
        assert_eq!(d.remote_target, "sip:ua@10.0.0.77:5099", "an unusable Contact changes nothing");
        let fallback = "192.0.2.1:7000".parse().expect("addr");
        for unusable in ["<sip:ua@10.0.0.77:0>", "<sip:ua@0.0.0.0:5060>", "<sip:ua@host.example>"] {
            d.refresh_target(&invite(&format!("Contact: {unusable}\r\n")));
            assert_eq!(d.udp_next_hop(fallback), fallback, "{unusable}");
        }
    }
}

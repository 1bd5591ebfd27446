//! A SIP call's media sockets: RTP on an even port and RTCP on the next one (RFC 3550 §11), or
//! both on the RTP port when the caller asked for rtcp-mux (RFC 5761). One task per call moves
//! datagrams between them and the call's driver: everything received goes to the driver (which
//! tells RTCP from RTP by packet type), and what the driver sends goes out of the socket its
//! kind belongs to.
//!
//! Symmetric (RFC 4961): we send to where the caller's packets come from once they come, else to
//! the addresses in its SDP. [`Peers`] makes that choice, sans-IO.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::rtp::packet::{PacketKind, classify};

/// Tries at an even/odd port pair before giving up on a call.
const PAIR_ATTEMPTS: usize = 64;

/// A call's RTP socket and, next to it, its RTCP socket.
pub struct MediaSockets {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

impl MediaSockets {
    /// Binds an even RTP port and the odd port after it on `ip`, ports chosen by the OS.
    pub async fn bind(ip: IpAddr) -> io::Result<Self> {
        for _ in 0..PAIR_ATTEMPTS {
            let first = UdpSocket::bind((ip, 0)).await?;
            let port = first.local_addr()?.port();
            // The OS gave us one half of a pair; try for the other half.
            let pair = if port % 2 == 0 {
                match port.checked_add(1) {
                    Some(odd) => UdpSocket::bind((ip, odd)).await.map(|rtcp| Self { rtp: first, rtcp }),
                    None => continue,
                }
            } else {
                UdpSocket::bind((ip, port - 1)).await.map(|rtp| Self { rtp, rtcp: first })
            };
            if let Ok(pair) = pair {
                return Ok(pair);
            }
        }
        Err(io::Error::new(io::ErrorKind::AddrInUse, "no free even/odd port pair for RTP and RTCP"))
    }

    pub fn rtp_addr(&self) -> io::Result<SocketAddr> {
        self.rtp.local_addr()
    }
}

/// Where the caller's SDP says its media goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteMedia {
    pub rtp: SocketAddr,
    pub rtcp: SocketAddr,
}

/// Where we send: the SDP's addresses until the caller's own packets show where it is.
#[derive(Debug, Clone)]
pub struct Peers {
    remote: RemoteMedia,
    rtp_seen: Option<SocketAddr>,
    rtcp_seen: Option<SocketAddr>,
    mux: bool,
}

/// Which socket a datagram came in on or goes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Rtp,
    Rtcp,
}

impl Peers {
    pub fn new(remote: RemoteMedia, mux: bool) -> Self {
        Self { remote, rtp_seen: None, rtcp_seen: None, mux }
    }

    /// A datagram arrived on `port` from `from`. The first RTP packet pins the RTP peer; the
    /// first RTCP packet on the RTCP port pins the RTCP peer (with mux, RTCP is sent to the RTP
    /// peer, so only RTP pins).
    pub fn received(&mut self, port: Port, from: SocketAddr, datagram: &[u8]) {
        match (port, classify(datagram)) {
            (Port::Rtp, PacketKind::Rtp) => {
                self.rtp_seen.get_or_insert(from);
            }
            (Port::Rtcp, PacketKind::Rtcp { .. }) => {
                self.rtcp_seen.get_or_insert(from);
            }
            _ => {}
        }
    }

    /// The caller's SDP changed (re-INVITE): its new addresses, until packets show otherwise.
    pub fn update(&mut self, remote: RemoteMedia) {
        *self = Self::new(remote, self.mux);
    }

    /// Where `datagram` goes, and out of which socket; None while the caller holds (0.0.0.0 or
    /// port 0 in its SDP, and nothing received yet).
    pub fn destination(&self, datagram: &[u8]) -> Option<(Port, SocketAddr)> {
        let rtp = self.rtp_seen.unwrap_or(self.remote.rtp);
        let (port, to) = match classify(datagram) {
            PacketKind::Rtcp { .. } if self.mux => (Port::Rtp, rtp),
            PacketKind::Rtcp { .. } => (Port::Rtcp, self.rtcp_seen.unwrap_or(self.remote.rtcp)),
            _ => (Port::Rtp, rtp),
        };
        (!to.ip().is_unspecified() && to.port() != 0).then_some((port, to))
    }
}

/// Moves one call's media between its sockets and its driver until the driver is done. With
/// rtcp-mux the RTCP socket is closed at once: nothing goes there.
pub async fn move_media(
    sockets: MediaSockets,
    mux: bool,
    inbound: mpsc::Sender<Vec<u8>>,
    mut outbound: mpsc::Receiver<Vec<u8>>,
    mut remote: watch::Receiver<RemoteMedia>,
) {
    let mut peers = Peers::new(*remote.borrow_and_update(), mux);
    let MediaSockets { rtp, rtcp } = sockets;
    let rtcp = (!mux).then_some(rtcp);
    let (mut rtp_buf, mut rtcp_buf) = (vec![0u8; 2048], vec![0u8; 2048]);
    loop {
        let (port, got) = tokio::select! {
            got = rtp.recv_from(&mut rtp_buf) => (Port::Rtp, got.map(|(n, from)| (rtp_buf[..n].to_vec(), from))),
            got = recv_maybe(rtcp.as_ref(), &mut rtcp_buf) => (Port::Rtcp, got),
            packet = outbound.recv() => {
                let Some(packet) = packet else { return };
                let socket = match peers.destination(&packet) {
                    Some((Port::Rtcp, to)) => rtcp.as_ref().map(|s| (s, to)),
                    Some((Port::Rtp, to)) => Some((&rtp, to)),
                    None => None,
                };
                if let Some((socket, to)) = socket {
                    let _ = socket.send_to(&packet, to).await;
                }
                continue;
            }
            changed = remote.changed() => {
                if changed.is_ok() {
                    peers.update(*remote.borrow_and_update());
                }
                continue;
            }
        };
        match got {
            Ok((datagram, from)) => {
                peers.received(port, from, &datagram);
                if inbound.try_send(datagram).is_err() && inbound.is_closed() {
                    return;
                }
            }
            // e.g. ICMP port unreachable from a caller not (yet) listening: not fatal.
            Err(e) => tracing::debug!("media receive on {port:?}: {e}"),
        }
    }
}

/// Receives on `socket`, or never if there is none.
async fn recv_maybe(socket: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(Vec<u8>, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await.map(|(n, from)| (buf[..n].to_vec(), from)),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTP: [u8; 12] = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7];
    const RTCP: [u8; 8] = [0x80, 201, 0, 1, 0, 0, 0, 7];

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    fn sdp() -> RemoteMedia {
        RemoteMedia { rtp: addr("10.0.0.1:4000"), rtcp: addr("10.0.0.1:4001") }
    }

    #[test]
    fn sends_to_the_sdp_until_the_caller_shows_up_elsewhere() {
        let mut peers = Peers::new(sdp(), false);
        assert_eq!(peers.destination(&RTP), Some((Port::Rtp, addr("10.0.0.1:4000"))));
        assert_eq!(peers.destination(&RTCP), Some((Port::Rtcp, addr("10.0.0.1:4001"))));
        // Behind a NAT: packets come from other ports. RTCP on the RTP port pins nothing.
        peers.received(Port::Rtp, addr("203.0.113.5:5555"), &RTCP);
        assert_eq!(peers.destination(&RTP), Some((Port::Rtp, addr("10.0.0.1:4000"))));
        peers.received(Port::Rtp, addr("203.0.113.5:6000"), &RTP);
        peers.received(Port::Rtcp, addr("203.0.113.5:6009"), &RTCP);
        peers.received(Port::Rtp, addr("203.0.113.5:7000"), &RTP);
        assert_eq!(peers.destination(&RTP), Some((Port::Rtp, addr("203.0.113.5:6000"))), "the first one pins");
        assert_eq!(peers.destination(&RTCP), Some((Port::Rtcp, addr("203.0.113.5:6009"))));
        // A re-INVITE starts over from its SDP.
        peers.update(RemoteMedia { rtp: addr("10.0.0.2:4000"), rtcp: addr("10.0.0.2:4001") });
        assert_eq!(peers.destination(&RTCP), Some((Port::Rtcp, addr("10.0.0.2:4001"))));
    }

    #[test]
    fn with_mux_rtcp_follows_rtp() {
        let mut peers = Peers::new(RemoteMedia { rtp: addr("10.0.0.1:4000"), rtcp: addr("10.0.0.1:4000") }, true);
        peers.received(Port::Rtp, addr("203.0.113.5:6000"), &RTP);
        assert_eq!(peers.destination(&RTCP), Some((Port::Rtp, addr("203.0.113.5:6000"))));
    }

    #[test]
    fn a_held_caller_gets_nothing() {
        let held = RemoteMedia { rtp: addr("0.0.0.0:4000"), rtcp: addr("0.0.0.0:4001") };
        let peers = Peers::new(held, false);
        assert_eq!((peers.destination(&RTP), peers.destination(&RTCP)), (None, None));
    }

    #[tokio::test]
    async fn binds_an_even_port_and_the_next() {
        let sockets = MediaSockets::bind(IpAddr::from([127, 0, 0, 1])).await.expect("a pair on loopback");
        let (rtp, rtcp) = (sockets.rtp_addr().expect("addr").port(), sockets.rtcp.local_addr().expect("addr").port());
        assert_eq!((rtp % 2, rtcp), (0, rtp + 1));
    }
}

//! A DNS stub query (A records over UDP), for the lab's dialers and for clients that check
//! what a resolver answers.

use hickory_proto::{
    op::{Message, MessageType, OpCode, Query, ResponseCode},
    rr::{Name, RData, RecordType},
};
use std::{
    net::{Ipv4Addr, SocketAddr},
    str::FromStr,
    time::Duration,
};

/// Ask the DNS server at `server` for the A records of `host`, over UDP (falls back to TCP
/// semantics are not needed: answers are small). Returns the response code on failure.
pub async fn query_a(server: SocketAddr, host: &str) -> std::io::Result<Result<Vec<Ipv4Addr>, ResponseCode>> {
    let name = Name::from_str(&format!("{}.", host.trim_end_matches('.')))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name, RecordType::A));
    let bytes = msg.to_vec().map_err(|e| std::io::Error::other(e.to_string()))?;
    // A server on loopback is asked from loopback; one in another container from any address.
    let local: std::net::IpAddr =
        if server.ip().is_loopback() { Ipv4Addr::LOCALHOST.into() } else { Ipv4Addr::UNSPECIFIED.into() };
    let sock = tokio::net::UdpSocket::bind((local, 0)).await?;
    sock.connect(server).await?;
    let mut buf = vec![0u8; 4096];
    for attempt in 0..3 {
        sock.send(&bytes).await?;
        match tokio::time::timeout(Duration::from_millis(500 * (attempt + 1)), sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                let resp = Message::from_vec(&buf[..n]).map_err(|e| std::io::Error::other(e.to_string()))?;
                if resp.metadata.id != id {
                    continue;
                }
                if resp.metadata.response_code != ResponseCode::NoError {
                    return Ok(Err(resp.metadata.response_code));
                }
                let ips = resp
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(a.0),
                        _ => None,
                    })
                    .collect();
                return Ok(Ok(ips));
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("DNS server {server} did not answer")))
}

//! A real DNS server (UDP and TCP) answering for one resolver of the model.

use hickory_server::{
    Server,
    net::runtime::Time,
    proto::{
        op::{Metadata, ResponseCode},
        rr::{
            Name, RData, Record, RecordType,
            rdata::{A, CNAME, SOA, TXT},
        },
    },
    server::{Request, RequestHandler, ResponseHandler, ResponseInfo},
    zone_handler::MessageResponseBuilder,
};
use hyok_core::client::BoxFuture;
use hyok_dns::{DnsError, DnsModel, RecordData, Resolution};
use std::{net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

/// Where a DNS server gets its answers: the model in this process, or a model held elsewhere
/// (a DNS container asking the region that owns the model).
pub trait Resolve: Send + Sync + 'static {
    /// Resolve `name` (type `rtype`) as resolver `resolver_id` would.
    fn resolve(&self, resolver_id: &str, name: &str, rtype: &str) -> BoxFuture<'_, Result<Resolution, DnsError>>;
}

impl Resolve for DnsModel {
    fn resolve(&self, resolver_id: &str, name: &str, rtype: &str) -> BoxFuture<'_, Result<Resolution, DnsError>> {
        let r = DnsModel::resolve(self, resolver_id, name, rtype);
        Box::pin(async move { r })
    }
}

/// Errors starting a DNS server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsServerError {
    /// The UDP or TCP port could not be bound.
    #[error("cannot listen for DNS on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running DNS server for one resolver; dropping it stops it.
pub struct DnsServer {
    /// Real socket (UDP and TCP share the port).
    pub local_addr: SocketAddr,
    server: Server<Handler>,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl DnsServer {
    /// Serve `resolver_id` of `model` on `addr` (UDP and TCP). Port 0 picks a free port.
    pub async fn start(model: DnsModel, resolver_id: &str, addr: SocketAddr) -> Result<Self, DnsServerError> {
        Self::start_with(Arc::new(model), resolver_id, addr).await
    }

    /// Serve `resolver_id` answered by `model` (any [`Resolve`]) on `addr` (UDP and TCP).
    pub async fn start_with(
        model: Arc<dyn Resolve>,
        resolver_id: &str,
        addr: SocketAddr,
    ) -> Result<Self, DnsServerError> {
        // UDP and TCP share one port. With port 0 the UDP port the OS picks may be taken for
        // TCP by someone else; then pick again.
        let mut attempt = 0;
        let (udp, tcp, local_addr) = loop {
            attempt += 1;
            let udp =
                tokio::net::UdpSocket::bind(addr).await.map_err(|source| DnsServerError::Bind { addr, source })?;
            let local_addr = udp.local_addr().map_err(|source| DnsServerError::Bind { addr, source })?;
            match tokio::net::TcpListener::bind(local_addr).await {
                Ok(tcp) => break (udp, tcp, local_addr),
                Err(_) if addr.port() == 0 && attempt < 20 => continue,
                Err(source) => return Err(DnsServerError::Bind { addr: local_addr, source }),
            }
        };
        let mut server = Server::new(Handler { model, resolver_id: resolver_id.to_string() });
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
        Ok(Self { local_addr, server })
    }

    /// Stop serving.
    pub async fn shutdown(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.server.shutdown_gracefully()).await;
    }
}

struct Handler {
    model: Arc<dyn Resolve>,
    resolver_id: String,
}

fn to_record(r: &RecordData) -> Option<Record> {
    let name = Name::from_str(&format!("{}.", r.domain)).ok()?;
    let rdata = match r.rtype.as_str() {
        "A" => RData::A(A(r.rdata.parse().ok()?)),
        "CNAME" => RData::CNAME(CNAME(Name::from_str(&r.rdata).ok()?)),
        "TXT" => RData::TXT(TXT::new(vec![r.rdata.trim_matches('"').to_string()])),
        _ => return None,
    };
    Some(Record::from_rdata(name, r.ttl, rdata))
}

fn negative_soa(qname: &str) -> Option<Record> {
    // Minimum 0: resolvers must not cache "no such name", so fixes show up at once.
    let origin = Name::from_str(&format!("{qname}.")).ok()?;
    let soa =
        SOA::new(Name::from_str("ns1.lab.").ok()?, Name::from_str("hostmaster.lab.").ok()?, 1, 3600, 600, 86400, 0);
    Some(Record::from_rdata(origin, 0, RData::SOA(soa)))
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let builder = MessageResponseBuilder::new(&request.queries, None);
        let mut meta = Metadata::response_from_request(&request.metadata);
        meta.authoritative = true;
        meta.recursion_available = true;
        let info = match request.request_info() {
            Ok(i) => i,
            Err(_) => {
                let resp = builder.error_msg(&request.metadata, ResponseCode::FormErr);
                return send(&mut response_handle, resp, &request.metadata).await;
            }
        };
        let qname = info.query.name().to_string();
        let qname = qname.trim_end_matches('.').to_string();
        let qtype = info.query.query_type();
        let rtype = match qtype {
            RecordType::A => "A",
            RecordType::CNAME => "CNAME",
            RecordType::TXT => "TXT",
            _ => "OTHER",
        };
        let resolution = self.model.resolve(&self.resolver_id, &qname, rtype).await;
        tracing::debug!(resolver = %self.resolver_id, %qname, ?qtype, ?resolution, "dns query");
        let (code, answers, soa): (ResponseCode, Vec<Record>, Vec<Record>) = match resolution {
            Ok(Resolution::Answer { records, .. }) => {
                (ResponseCode::NoError, records.iter().filter_map(to_record).collect(), vec![])
            }
            Ok(Resolution::NoData { .. }) => {
                (ResponseCode::NoError, vec![], negative_soa(&qname).into_iter().collect())
            }
            Ok(Resolution::NxDomain { .. }) => {
                (ResponseCode::NXDomain, vec![], negative_soa(&qname).into_iter().collect())
            }
            Err(DnsError::Unavailable(why)) => {
                tracing::warn!(resolver = %self.resolver_id, %qname, %why, "DNS model unavailable");
                (ResponseCode::ServFail, vec![], vec![])
            }
            Err(_) => (ResponseCode::FormErr, vec![], vec![]),
        };
        meta.response_code = code;
        let resp = builder.build(meta, answers.iter(), std::iter::empty(), soa.iter(), std::iter::empty());
        match response_handle.send_response(resp).await {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "sending DNS response failed");
                let mut m = Metadata::response_from_request(&request.metadata);
                m.response_code = ResponseCode::ServFail;
                ResponseInfo::from(hickory_server::proto::op::Header { metadata: m, counts: Default::default() })
            }
        }
    }
}

async fn send<'a, R: ResponseHandler>(
    handle: &mut R,
    resp: hickory_server::zone_handler::MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    req_meta: &Metadata,
) -> ResponseInfo {
    match handle.send_response(resp).await {
        Ok(info) => info,
        Err(_) => {
            let mut m = Metadata::response_from_request(req_meta);
            m.response_code = ResponseCode::ServFail;
            ResponseInfo::from(hickory_server::proto::op::Header { metadata: m, counts: Default::default() })
        }
    }
}

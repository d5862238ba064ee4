//! The lab's public root, shared by every process of a lab through the lab dir, and the
//! certificates it issues for cloud endpoints.

use crate::error::{LabError, io_err};
use hyok_core::pki::LabCa;
use std::{net::Ipv4Addr, path::Path, sync::Arc, time::Duration};

fn write_private(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(path))?;
    }
    Ok(())
}

/// Load the lab's public root from the lab dir, or make one and keep it there, so host
/// clients that trusted it once keep trusting it across restarts. Safe when several services
/// of a split lab start at once on one lab dir: one makes it, the others wait for it.
pub(crate) fn public_root(lab_dir: &Path) -> Result<LabCa, LabError> {
    let dir = lab_dir.join("ca");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let cert = dir.join("lab-root.pem");
    let key = dir.join("lab-root.key");
    let read = || -> Option<LabCa> {
        let (c, k) = (std::fs::read_to_string(&cert).ok()?, std::fs::read_to_string(&key).ok()?);
        LabCa::from_pem(&c, &k).ok()
    };
    if let Some(ca) = read() {
        return Ok(ca);
    }
    let ca = LabCa::generate("HYOK Lab Public Root CA")?;
    // The key is claimed with a hard link (fails when another process claimed it first); the
    // winner then writes the certificate, the others wait for it.
    let tmp = dir.join(format!(".lab-root.key.{}", hyok_core::ids::hex32()));
    write_private(&tmp, ca.key_pem())?;
    let claimed = std::fs::hard_link(&tmp, &key);
    let _ = std::fs::remove_file(&tmp);
    match claimed {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for _ in 0..250 {
                if let Some(ca) = read() {
                    return Ok(ca);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // A key without its certificate (a crash mid-way): start over.
            write_private(&key, ca.key_pem())?;
        }
        Err(e) => return Err(io_err(&key)(e)),
    }
    let tmp = dir.join(format!(".lab-root.pem.{}", hyok_core::ids::hex32()));
    std::fs::write(&tmp, ca.cert_pem()).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &cert).map_err(io_err(&cert))?;
    Ok(ca)
}

/// A certificate from the lab's public root for a cloud endpoint: its host name, its virtual
/// IP, and 127.0.0.1/localhost so the `url` in lab.json verifies from the host.
pub(crate) fn public_cert(ca: &LabCa, host: &str, ip: Ipv4Addr) -> Result<Arc<rustls::ServerConfig>, LabError> {
    let ip = ip.to_string();
    let cert = ca.issue_server(&[host, &ip, "127.0.0.1", "localhost"])?;
    Ok(hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?)
}

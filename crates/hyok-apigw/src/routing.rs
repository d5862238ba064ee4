//! Route matching below a deployment's path prefix, and backend URL templating.
//!
//! `{name}` matches exactly one non-empty segment; `{name*}` (last segment only) matches the rest
//! of the path, which may be empty (`/a/{p*}` matches `/a`, `/a/` and `/a/b/c`). When several
//! routes match, the most specific wins: literal segments beat `{name}`, which beats `{name*}`.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// One segment of a route path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Literal(String),
    Param(String),
    Wildcard(String),
}

/// A route path compiled for matching.
#[derive(Clone, Debug)]
pub struct PathPattern {
    segs: Vec<Seg>,
    /// Specificity key, computed once: routes are ranked on every request.
    rank: Vec<u8>,
}

/// The shape of a route path with parameter names erased (`/a/{}/{*}`), to find duplicates.
pub fn path_shape(path: &str) -> String {
    PathPattern::parse(path)
        .segs
        .iter()
        .map(|s| match s {
            Seg::Literal(l) => format!("/{l}"),
            Seg::Param(_) => "/{}".to_string(),
            Seg::Wildcard(_) => "/{*}".to_string(),
        })
        .collect()
}

impl PathPattern {
    /// Compile a (validated) route path.
    pub fn parse(path: &str) -> Self {
        let body = path.strip_prefix('/').unwrap_or(path);
        let segs = body
            .split('/')
            .map(|seg| {
                if seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}') {
                    let inner = &seg[1..seg.len() - 1];
                    match inner.strip_suffix('*') {
                        Some(name) => Seg::Wildcard(name.to_string()),
                        None => Seg::Param(inner.to_string()),
                    }
                } else {
                    Seg::Literal(seg.to_string())
                }
            })
            .collect::<Vec<_>>();
        let rank = segs
            .iter()
            .map(|s| match s {
                Seg::Literal(_) => 3,
                Seg::Param(_) => 2,
                Seg::Wildcard(_) => 1,
            })
            .collect();
        Self { segs, rank }
    }

    /// Walk `rel_path` against the pattern without allocating, reporting each parameter as
    /// `(name, raw value)`; true when the whole path matches.
    fn walk<'p, 'r>(&'p self, rel_path: &'r str, mut param: impl FnMut(&'p str, &'r str)) -> bool {
        // `rest` is what is left after the segments consumed so far; `None` once the last
        // segment has been consumed (so `/a` and `/a/` differ, as segments `["a"]`, `["a", ""]`).
        let mut rest = Some(rel_path.strip_prefix('/').unwrap_or(rel_path));
        for seg in &self.segs {
            if let Seg::Wildcard(name) = seg {
                param(name, rest.unwrap_or(""));
                return true;
            }
            let Some(r) = rest else { return false };
            let (current, next) = match r.split_once('/') {
                Some((c, n)) => (c, Some(n)),
                None => (r, None),
            };
            let ok = match seg {
                Seg::Literal(l) => current == l,
                Seg::Param(name) => {
                    let ok = !current.is_empty();
                    if ok {
                        param(name, current);
                    }
                    ok
                }
                Seg::Wildcard(_) => true,
            };
            if !ok {
                return false;
            }
            rest = next;
        }
        rest.is_none()
    }

    /// Whether a path relative to the prefix (starting with `/`) matches.
    pub fn is_match(&self, rel_path: &str) -> bool {
        self.walk(rel_path, |_, _| {})
    }

    /// The path parameters of a matching path, borrowed (raw, still percent-encoded).
    pub fn params<'p, 'r>(&'p self, rel_path: &'r str) -> Option<Vec<(&'p str, &'r str)>> {
        let mut params = Vec::new();
        self.walk(rel_path, |n, v| params.push((n, v))).then_some(params)
    }

    /// Match a path relative to the prefix (starting with `/`); returns the path parameters
    /// (raw, still percent-encoded as received).
    pub fn matches(&self, rel_path: &str) -> Option<Vec<(String, String)>> {
        self.params(rel_path).map(|ps| ps.into_iter().map(|(n, v)| (n.to_string(), v.to_string())).collect())
    }

    /// Specificity key: larger is more specific.
    pub fn specificity(&self) -> &[u8] {
        &self.rank
    }
}

/// The relative path below `prefix`, or `None` when `path` is not under it.
pub fn strip_prefix<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// A piece of a backend URL template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Path(String),
    Query(String),
    Header(String),
    Auth(String),
}

/// A backend URL with `${request.path[x]}`, `${request.query[x]}`, `${request.headers[x]}` and
/// `${request.auth[x]}` references.
#[derive(Clone, Debug)]
pub struct UrlTemplate {
    pieces: Vec<Piece>,
}

/// Values a template is rendered with.
#[derive(Debug, Default)]
pub struct TemplateContext<'a> {
    /// Path parameters (raw), as [`PathPattern::params`] gives them.
    pub path: &'a [(&'a str, &'a str)],
    /// The raw query string of the request.
    pub query: Option<&'a str>,
    /// Request headers.
    pub headers: Option<&'a http::HeaderMap>,
    /// Claims of the validated token.
    pub auth: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// Characters escaped when a header or claim value is put in a URL.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'&')
    .add(b'+')
    .add(b'=');

impl UrlTemplate {
    /// Parse a backend URL and check that, filled in, it is an absolute http(s) URL whose
    /// scheme and host are literal.
    pub fn parse(url: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = url;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("unterminated ${{…}} in {url:?}"))?;
            let expr = &after[..end];
            pieces.push(parse_ref(expr)?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Lit(rest.to_string()));
        }
        let t = Self { pieces };
        // The literal head must carry scheme and host: templating the host is not supported.
        let head = match t.pieces.first() {
            Some(Piece::Lit(l)) => l.as_str(),
            _ => "",
        };
        let scheme_end =
            head.find("://").ok_or_else(|| format!("{url:?} must be an absolute http:// or https:// URL"))?;
        let scheme = &head[..scheme_end];
        if scheme != "http" && scheme != "https" {
            return Err(format!("{url:?}: scheme must be http or https"));
        }
        let authority_end = head[scheme_end + 3..].find(['/', '?']).map(|i| i + scheme_end + 3);
        if authority_end.is_none() && t.pieces.len() > 1 {
            return Err(format!(
                "{url:?}: the host and port must be literal; templates may only appear in the path or query"
            ));
        }
        let sample = t.render_with(|_| "x".to_string());
        let uri: http::Uri = sample.parse().map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("{url:?} has no host"));
        }
        Ok(t)
    }

    /// Names used in `${request.path[…]}`.
    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Path(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The scheme, host and port of the URL (templates are only allowed after them).
    pub fn authority(&self) -> Option<(bool, String, u16)> {
        let uri: http::Uri = self.render_with(|_| String::new()).parse().ok()?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_string();
        Some((https, host, uri.port_u16().unwrap_or(if https { 443 } else { 80 })))
    }

    fn render_with(&self, mut f: impl FnMut(&Piece) -> String) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => out.push_str(l),
                other => out.push_str(&f(other)),
            }
        }
        out
    }

    /// Fill in the references; a missing value becomes empty, as in OCI.
    pub fn render(&self, ctx: &TemplateContext<'_>) -> String {
        // Runs per proxied request: values are appended in place, nothing is copied twice.
        let literal: usize = self.pieces.iter().map(|p| if let Piece::Lit(l) = p { l.len() } else { 0 }).sum();
        let mut out = String::with_capacity(literal + 64);
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => out.push_str(l),
                Piece::Path(n) => {
                    if let Some((_, v)) = ctx.path.iter().find(|(k, _)| k == n) {
                        out.push_str(v);
                    }
                }
                Piece::Query(n) => {
                    if let Some(v) = query_raw(ctx.query, n) {
                        out.push_str(v);
                    }
                }
                Piece::Header(n) => {
                    if let Some(v) = ctx.headers.and_then(|h| h.get(n.as_str())).and_then(|v| v.to_str().ok()) {
                        out.extend(utf8_percent_encode(v, VALUE));
                    }
                }
                Piece::Auth(n) => match ctx.auth.and_then(|c| c.get(n)) {
                    Some(serde_json::Value::String(s)) => out.extend(utf8_percent_encode(s, VALUE)),
                    Some(other) => out.extend(utf8_percent_encode(&other.to_string(), VALUE)),
                    None => {}
                },
            }
        }
        out
    }
}

fn parse_ref(expr: &str) -> Result<Piece, String> {
    let bad = || {
        format!(
            "${{{expr}}} is not a supported reference (use request.path[name], request.query[name], request.headers[name] or request.auth[name])"
        )
    };
    let (table, rest) = expr.split_once('[').ok_or_else(bad)?;
    let name = rest.strip_suffix(']').ok_or_else(bad)?;
    if name.is_empty() || name.contains(['[', ']', '$', '{', '}']) {
        return Err(bad());
    }
    let name = name.to_string();
    match table {
        "request.path" => Ok(Piece::Path(name)),
        "request.query" => Ok(Piece::Query(name)),
        "request.headers" => {
            http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a valid header name"))?;
            Ok(Piece::Header(name.to_ascii_lowercase()))
        }
        "request.auth" => Ok(Piece::Auth(name)),
        _ => Err(bad()),
    }
}

/// The first raw value of `name` in a query string.
pub fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    query_raw(query, name).map(str::to_string)
}

fn query_raw<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_rest_including_empty() {
        let p = PathPattern::parse("/a/{p*}");
        assert_eq!(p.matches("/a/b/c"), Some(vec![("p".into(), "b/c".into())]));
        assert_eq!(p.matches("/a"), Some(vec![("p".into(), "".into())]));
        assert_eq!(p.matches("/a/"), Some(vec![("p".into(), "".into())]));
        assert_eq!(p.matches("/b/c"), None);
        let root = PathPattern::parse("/{path*}");
        assert_eq!(root.matches("/"), Some(vec![("path".into(), "".into())]));
    }

    /// The matcher as first written (split, collect, join), kept to check the allocation-free one.
    fn reference_matches(p: &PathPattern, rel_path: &str) -> Option<Vec<(String, String)>> {
        let body = rel_path.strip_prefix('/').unwrap_or(rel_path);
        let req: Vec<&str> = body.split('/').collect();
        let mut params = Vec::new();
        let mut i = 0;
        for seg in &p.segs {
            match seg {
                Seg::Wildcard(name) => {
                    let rest = if i < req.len() { req[i..].join("/") } else { String::new() };
                    params.push((name.clone(), rest));
                    return Some(params);
                }
                Seg::Literal(l) => {
                    if req.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Seg::Param(name) => match req.get(i) {
                    Some(v) if !v.is_empty() => params.push((name.clone(), (*v).to_string())),
                    _ => return None,
                },
            }
            i += 1;
        }
        (i == req.len()).then_some(params)
    }

    #[test]
    fn allocation_free_matcher_agrees_with_the_reference() {
        let patterns = ["/", "/{p*}", "/a", "/a/{p*}", "/a/{id}", "/a/{id}/b", "/{x}/{y}", "/a/{id}/{rest*}", "/a/"];
        let paths = [
            "/", "", "/a", "/a/", "/a//", "/a/b", "/a/b/", "/a/b/c", "/a//b", "/b", "/a/k1/b", "/a/k1/b/", "//",
            "/x/y", "/x/y/z", "/a/%2F/b",
        ];
        for pat in patterns {
            let p = PathPattern::parse(pat);
            for path in paths {
                let want = reference_matches(&p, path);
                assert_eq!(p.matches(path), want, "pattern {pat:?} path {path:?}");
                assert_eq!(p.is_match(path), want.is_some(), "pattern {pat:?} path {path:?}");
            }
        }
        assert!(PathPattern::parse("/a/{id}").specificity() > PathPattern::parse("/a/{p*}").specificity());
        assert!(PathPattern::parse("/a/b").specificity() > PathPattern::parse("/a/{id}").specificity());
    }

    #[test]
    fn param_matches_one_non_empty_segment() {
        let p = PathPattern::parse("/keys/{id}/metadata");
        assert_eq!(p.matches("/keys/k1/metadata"), Some(vec![("id".into(), "k1".into())]));
        assert_eq!(p.matches("/keys//metadata"), None);
        assert_eq!(p.matches("/keys/k1/x/metadata"), None);
        assert_eq!(p.matches("/keys/k1/metadata/"), None);
    }

    #[test]
    fn prefix_is_segment_aligned() {
        assert_eq!(strip_prefix("/api/v1", "/api/v1/x"), Some("/x"));
        assert_eq!(strip_prefix("/api/v1", "/api/v1"), Some("/"));
        assert_eq!(strip_prefix("/api/v1", "/api/v10"), None);
        assert_eq!(strip_prefix("/", "/x"), Some("/x"));
    }

    #[test]
    fn templates_render_and_refuse_host_templates() {
        let t = UrlTemplate::parse("https://ctm1.oci-thales.lab/api/v1/${request.path[path]}?a=${request.query[q]}&h=${request.headers[X-Tag]}")
            .expect("valid");
        let mut headers = http::HeaderMap::new();
        headers.insert("x-tag", http::HeaderValue::from_static("a b/c"));
        let params = vec![("path", "vaults/v1/metadata")];
        let out =
            t.render(&TemplateContext { path: &params, query: Some("q=7&z=1"), headers: Some(&headers), auth: None });
        assert_eq!(out, "https://ctm1.oci-thales.lab/api/v1/vaults/v1/metadata?a=7&h=a%20b%2Fc");
        assert_eq!(t.authority(), Some((true, "ctm1.oci-thales.lab".to_string(), 443)));
        assert!(UrlTemplate::parse("https://${request.headers[host]}/x").is_err());
        assert!(UrlTemplate::parse("ftp://x/y").is_err());
        assert!(UrlTemplate::parse("https://x/${request.body[a]}").is_err());
        assert!(UrlTemplate::parse("https://x/${request.path[a]").is_err());
    }
}

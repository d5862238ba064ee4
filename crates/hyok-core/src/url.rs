//! Percent-encoding of one URL component (path segment, query or form value).

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is encoded.
const COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encode `s` for use as one path segment, query value or form value.
pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_unreserved_characters_pass() {
        assert_eq!(super::encode_component("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(super::encode_component("a b/c=d&é"), "a%20b%2Fc%3Dd%26%C3%A9");
    }
}

//! The members of a JSON object's text, found without building a value:
//! where each name and each value begins and ends. Only for text already
//! checked to be one JSON object (a [`crate::group::Group`]'s own): it finds
//! boundaries and checks nothing, so text that is not such an object ends
//! the members early instead of failing.

use std::borrow::Cow;

/// One member: its name as written between the quotes (escapes and all)
/// and its value's text, without the space around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member<'a> {
    pub raw_name: &'a str,
    pub value: &'a str,
}

impl<'a> Member<'a> {
    /// The name as its characters: borrowed unless written with escapes.
    pub fn name(&self) -> Cow<'a, str> {
        if !self.raw_name.contains('\\') {
            return Cow::Borrowed(self.raw_name);
        }
        // Checked text: the quoted name is a JSON string.
        let quoted = format!("\"{}\"", self.raw_name);
        Cow::Owned(serde_json::from_str(&quoted).unwrap_or_default())
    }
}

/// The members of `text`, in order.
pub(crate) fn members(text: &str) -> Members<'_> {
    let bytes = text.as_bytes();
    let start = skip_space(bytes, 0);
    let at = if bytes.get(start) == Some(&b'{') { start + 1 } else { bytes.len() };
    Members { text, at }
}

pub(crate) struct Members<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        let bytes = self.text.as_bytes();
        let mut at = skip_space(bytes, self.at);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(bytes, at + 1);
        }
        if bytes.get(at) != Some(&b'"') {
            self.at = bytes.len();
            return None;
        }
        let name_end = string_end(bytes, at);
        let colon = skip_space(bytes, name_end);
        if bytes.get(colon) != Some(&b':') {
            self.at = bytes.len();
            return None;
        }
        let value_start = skip_space(bytes, colon + 1);
        let value_end = value_end(bytes, value_start);
        self.at = value_end;
        // Every boundary found is at an ASCII byte (a quote, a bracket, a
        // comma or space), so each slice is on a character boundary.
        Some(Member {
            raw_name: self.text.get(at + 1..name_end.saturating_sub(1))?,
            value: self.text.get(value_start..value_end)?,
        })
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Just past the closing quote of the string whose opening quote is at `at`.
fn string_end(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Just past the value that starts at `at`.
fn value_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => string_end(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        // A number, true, false or null: up to what ends it.
        _ => {
            let mut i = at;
            while bytes.get(i).is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                i += 1;
            }
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// The members as serde_json finds them: names decoded, in order (its
    /// map keeps the order), and each value's text.
    fn by_serde(text: &str) -> Vec<(String, String)> {
        let order: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        let raw: std::collections::BTreeMap<String, Box<RawValue>> = serde_json::from_str(text).unwrap();
        order.keys().map(|k| (k.clone(), raw[k].get().to_string())).collect()
    }

    fn ours(text: &str) -> Vec<(String, String)> {
        members(text).map(|m| (m.name().into_owned(), m.value.to_string())).collect()
    }

    #[test]
    fn members_are_found_as_serde_json_reads_them() {
        for text in [
            r#"{}"#,
            r#" { } "#,
            r#"{"tietoryhma":"NIMI","a":1,"b":-2.5e3,"c":true,"d":null,"e":false}"#,
            r#"{ "tietoryhma" : "X" , "s" : "a \"quoted\" \\ [not] {an} object,", "t":"é∂ü" }"#,
            r#"{"nested":{"x":[1,{"y":"]}"}],"z":{}},"list":[[],[[]],"]"],"last":"}"}"#,
            "{\n  \"muutosattribuutti\": \"MUUTETTU\",\n  \"voimassaolevatTiedot\": [\n    {\"a\": 1}\n  ]\n}",
            r#"{"t\u0069etoryhma":"A","\"q\"":"x","a\\b":1}"#,
        ] {
            assert_eq!(ours(text), by_serde(text), "{text}");
        }
    }

    #[test]
    fn text_that_is_not_an_object_has_no_members_and_no_panic() {
        for text in ["", "[1,2]", "\"s\"", "{", "{\"a\"", "{\"a\":", "{\"a\":\"b", "{\"a\" 1}", "{1:2}"] {
            let found: Vec<_> = members(text).collect();
            assert!(found.len() <= 1, "{text}: {found:?}");
        }
    }
}

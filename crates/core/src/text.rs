//! Serde for values written as strings (hetus, municipality codes, dates).
//!
//! Reading them through `String` made an owned copy of every one only to
//! parse and drop it; a page of changes holds thousands. [`parse_str`]
//! parses the string where the deserialiser holds it.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer};

/// A string read in place where the input allows (no escapes), copied
/// where it does not. serde's own `Cow<str>` always copies, and inside an
/// `Option` its `borrow` attribute does not change that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// Deserialises a string and parses it with `parse`; `what` names the
/// expected value in the error for anything that is not a string.
pub(crate) fn parse_str<'de, D, T, E, F>(d: D, what: &'static str, parse: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
    F: FnOnce(&str) -> Result<T, E>,
{
    d.deserialize_str(ParseStr { what, parse, out: PhantomData })
}

struct ParseStr<F, T> {
    what: &'static str,
    parse: F,
    out: PhantomData<T>,
}

impl<'de, T, E: fmt::Display, F: FnOnce(&str) -> Result<T, E>> Visitor<'de> for ParseStr<F, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    // Borrowed and owned strings arrive here too (serde's defaults).
    fn visit_str<Er: Error>(self, s: &str) -> Result<T, Er> {
        (self.parse)(s).map_err(Er::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Hetu, KuntaCode, RecordedKuntaCode};

    #[test]
    fn text_is_read_in_place_unless_escaped() {
        use super::Text;
        use std::borrow::Cow;
        let plain: Option<Text<'_>> = serde_json::from_str(r#""2026-01-05""#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(plain, Some(Text(Cow::Borrowed("2026-01-05")))), "{plain:?}");
        let escaped: Text<'_> = serde_json::from_str(r#""2026\u002d01""#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(escaped, Text(Cow::Owned(ref s)) if s == "2026-01"), "{escaped:?}");
        assert!(serde_json::from_str::<Text<'_>>("5").is_err());
    }

    #[test]
    fn string_values_read_borrowed_escaped_and_owned_and_refuse_other_shapes() {
        let hetu: Hetu = serde_json::from_str(r#""010181-900C""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hetu.as_str(), "010181-900C");
        // An escape makes serde_json hand over a transient copy, not the input.
        let escaped: Hetu = serde_json::from_str(r#""010181\u002d900C""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(escaped, hetu);
        let owned: Hetu = serde_json::from_value(serde_json::json!("010181-900C")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(owned, hetu);
        let kunta: KuntaCode = serde_json::from_str(r#""091""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kunta.number(), 91);
        let recorded: RecordedKuntaCode = serde_json::from_str(r#""001""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recorded.to_string(), "001");

        let err = |r: Result<Hetu, serde_json::Error>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(serde_json::from_str("12")).contains("a henkilötunnus"), "{}", err(serde_json::from_str("12")));
        assert!(err(serde_json::from_str(r#""010181-900X""#)).contains("check"));
        assert!(serde_json::from_str::<KuntaCode>(r#""999""#).is_err());
        assert!(serde_json::from_str::<KuntaCode>("91").is_err());
        assert!(serde_json::from_str::<RecordedKuntaCode>(r#""91""#).is_err());
    }
}

//! A compact binary form of serde values: the change summaries' groups.
//!
//! A page of changes decodes a thousand summaries, each a few dozen group
//! values; read as JSON, finding where each string ends, matching quotes,
//! colons and commas and reading numbers from digits was a good part of
//! that. Here every value starts with a one-byte tag, strings and
//! collections with their length, so reading is taking slices.
//!
//! The strings' text follows the values' structure, all of it together,
//! so it is checked as UTF-8 once rather than string by string.
//!
//! The form is self-describing, as JSON is: structs are maps keyed by
//! their field names, so the same serde derives (renames, skipped
//! `None`s, unknown fields refused) read and write it, and a value read
//! without its type (`deserialize_any`) is still whole. Only the shapes
//! the core's values use are written: unit variants as their names, no
//! tuple or struct variants.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize};
use serde::{forward_to_deserialize_any, Deserialize};
use thiserror::Error;

const NONE: u8 = 0;
const SOME: u8 = 1;
const FALSE: u8 = 2;
const TRUE: u8 = 3;
const UNSIGNED: u8 = 4;
const SIGNED: u8 = 5;
const FLOAT: u8 = 6;
const STR: u8 = 7;
const BYTES: u8 = 8;
const SEQ: u8 = 9;
const MAP: u8 = 10;

/// Collections nested deeper than this are refused when read: the core's
/// values nest a few levels, and a damaged summary must not exhaust the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CompactError {
    #[error("ends inside a value")]
    Truncated,
    #[error("unknown tag {0}")]
    Tag(u8),
    #[error("a string that is not UTF-8")]
    NotText,
    #[error("a number too large for its field")]
    Number,
    #[error("{0} bytes left after the value")]
    Trailing(usize),
    #[error("nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("{0} is not written in this form")]
    Unsupported(&'static str),
    #[error("{0}")]
    Message(String),
}

impl ser::Error for CompactError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CompactError::Message(msg.to_string())
    }
}

impl de::Error for CompactError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CompactError::Message(msg.to_string())
    }
}

/// Appends `value` to `out`: the length of its structure, the structure
/// (tags, lengths, numbers), then the text of its strings in order.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), CompactError> {
    let (mut structure, mut text) = (Vec::with_capacity(256), String::with_capacity(512));
    value.serialize(&mut Writer { out: &mut structure, text: &mut text })?;
    put_len(out, structure.len() as u64);
    out.extend_from_slice(&structure);
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// The value `bytes` hold, all of them.
pub fn read<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, CompactError> {
    let mut r = Reader { rest: bytes, text: "", depth: 0 };
    let n = r.count()?;
    let structure = r.take(n)?;
    let text = std::str::from_utf8(r.rest).map_err(|_| CompactError::NotText)?;
    let mut r = Reader { rest: structure, text, depth: 0 };
    let value = T::deserialize(&mut r)?;
    match r.rest.len() + r.text.len() {
        0 => Ok(value),
        n => Err(CompactError::Trailing(n)),
    }
}

fn put_len(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    text: &'a mut String,
}

impl Writer<'_> {
    fn str(&mut self, s: &str) {
        self.out.push(STR);
        put_len(self.out, s.len() as u64);
        self.text.push_str(s);
    }

    /// A collection's tag and count. Where serde does not know the count
    /// beforehand, five bytes are kept for it and filled in at the end (a
    /// count in five bytes, padded, reads as any other).
    fn open(&mut self, tag: u8, len: Option<usize>) -> Collection<'_> {
        self.out.push(tag);
        let at = self.out.len();
        match len {
            Some(n) => put_len(self.out, n as u64),
            None => self.out.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0]),
        }
        Collection { w: Writer { out: self.out, text: self.text }, at, declared: len, count: 0 }
    }
}

struct Collection<'a> {
    w: Writer<'a>,
    at: usize,
    declared: Option<usize>,
    count: usize,
}

impl Collection<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CompactError> {
        v.serialize(&mut self.w)
    }

    fn entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, k: &K, v: &V) -> Result<(), CompactError> {
        self.count += 1;
        k.serialize(&mut self.w)?;
        v.serialize(&mut self.w)
    }

    fn close(self) -> Result<(), CompactError> {
        match self.declared {
            Some(n) if n == self.count => Ok(()),
            Some(n) => Err(CompactError::Message(format!("{} items written of {n} said", self.count))),
            None => {
                let n = u32::try_from(self.count).map_err(|_| CompactError::Unsupported("a collection this large"))?;
                for (i, b) in self.w.out[self.at..self.at + 5].iter_mut().enumerate() {
                    *b = (n >> (7 * i)) as u8 & 0x7f | if i < 4 { 0x80 } else { 0 };
                }
                Ok(())
            }
        }
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Writer<'b> {
    type Ok = ();
    type Error = CompactError;
    type SerializeSeq = Collection<'a>;
    type SerializeTuple = Collection<'a>;
    type SerializeTupleStruct = Collection<'a>;
    type SerializeTupleVariant = ser::Impossible<(), CompactError>;
    type SerializeMap = Collection<'a>;
    type SerializeStruct = Collection<'a>;
    type SerializeStructVariant = ser::Impossible<(), CompactError>;

    fn serialize_bool(self, v: bool) -> Result<(), CompactError> {
        self.out.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), CompactError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), CompactError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), CompactError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), CompactError> {
        self.out.push(SIGNED);
        put_len(self.out, ((v << 1) ^ (v >> 63)) as u64);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), CompactError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), CompactError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), CompactError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), CompactError> {
        self.out.push(UNSIGNED);
        put_len(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), CompactError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), CompactError> {
        self.out.push(FLOAT);
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), CompactError> {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CompactError> {
        self.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CompactError> {
        self.out.push(BYTES);
        put_len(self.out, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CompactError> {
        self.out.push(NONE);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), CompactError> {
        self.out.push(SOME);
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CompactError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), CompactError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), CompactError> {
        self.str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), CompactError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), CompactError> {
        Err(CompactError::Unsupported("a newtype variant"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Collection<'a>, CompactError> {
        Ok(self.open(SEQ, len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Collection<'a>, CompactError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Collection<'a>, CompactError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CompactError> {
        Err(CompactError::Unsupported("a tuple variant"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Collection<'a>, CompactError> {
        Ok(self.open(MAP, len))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Collection<'a>, CompactError> {
        Ok(self.open(MAP, Some(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CompactError> {
        Err(CompactError::Unsupported("a struct variant"))
    }
}

impl ser::SerializeSeq for Collection<'_> {
    type Ok = ();
    type Error = CompactError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CompactError> {
        self.count += 1;
        self.item(v)
    }
    fn end(self) -> Result<(), CompactError> {
        self.close()
    }
}

impl ser::SerializeTuple for Collection<'_> {
    type Ok = ();
    type Error = CompactError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CompactError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), CompactError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Collection<'_> {
    type Ok = ();
    type Error = CompactError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CompactError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), CompactError> {
        self.close()
    }
}

impl ser::SerializeMap for Collection<'_> {
    type Ok = ();
    type Error = CompactError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CompactError> {
        self.count += 1;
        self.item(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CompactError> {
        self.item(v)
    }
    fn end(self) -> Result<(), CompactError> {
        self.close()
    }
}

impl ser::SerializeStruct for Collection<'_> {
    type Ok = ();
    type Error = CompactError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), CompactError> {
        self.entry(key, v)
    }
    fn end(self) -> Result<(), CompactError> {
        self.close()
    }
}

struct Reader<'de> {
    rest: &'de [u8],
    /// The text of the strings not yet read.
    text: &'de str,
    depth: usize,
}

impl<'de> Reader<'de> {
    fn take(&mut self, n: usize) -> Result<&'de [u8], CompactError> {
        if self.rest.len() < n {
            return Err(CompactError::Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CompactError> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Result<u8, CompactError> {
        self.rest.first().copied().ok_or(CompactError::Truncated)
    }

    fn len(&mut self) -> Result<u64, CompactError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(CompactError::Number)
    }

    fn slice(&mut self) -> Result<&'de [u8], CompactError> {
        let n = self.count()?;
        self.take(n)
    }

    fn text(&mut self) -> Result<&'de str, CompactError> {
        let n = self.count()?;
        // `get` refuses a length that ends inside a character.
        let s = self.text.get(..n).ok_or(if n > self.text.len() {
            CompactError::Truncated
        } else {
            CompactError::NotText
        })?;
        self.text = &self.text[n..];
        Ok(s)
    }

    fn count(&mut self) -> Result<usize, CompactError> {
        usize::try_from(self.len()?).map_err(|_| CompactError::Number)
    }

    fn nested(&mut self) -> Result<Nested<'_, 'de>, CompactError> {
        if self.depth == MAX_DEPTH {
            return Err(CompactError::TooDeep);
        }
        self.depth += 1;
        let left = self.count()?;
        Ok(Nested { r: self, left })
    }
}

/// The items of a collection still to be read.
struct Nested<'a, 'de> {
    r: &'a mut Reader<'de>,
    left: usize,
}

impl Nested<'_, '_> {
    /// The reader back, once every item was read.
    fn done<T>(self, value: T) -> Result<T, CompactError> {
        self.r.depth -= 1;
        match self.left {
            0 => Ok(value),
            _ => Err(CompactError::Message("a collection read only in part".into())),
        }
    }
}

impl<'de> SeqAccess<'de> for Nested<'_, 'de> {
    type Error = CompactError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, CompactError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> MapAccess<'de> for Nested<'_, 'de> {
    type Error = CompactError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, CompactError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, CompactError> {
        seed.deserialize(&mut *self.r)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = CompactError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CompactError> {
        match self.byte()? {
            NONE => v.visit_none(),
            SOME => v.visit_some(self),
            FALSE => v.visit_bool(false),
            TRUE => v.visit_bool(true),
            UNSIGNED => v.visit_u64(self.len()?),
            SIGNED => {
                let z = self.len()?;
                v.visit_i64((z >> 1) as i64 ^ -((z & 1) as i64))
            }
            FLOAT => {
                let mut b = [0; 8];
                b.copy_from_slice(self.take(8)?);
                v.visit_f64(f64::from_le_bytes(b))
            }
            STR => v.visit_borrowed_str(self.text()?),
            BYTES => v.visit_borrowed_bytes(self.slice()?),
            SEQ => {
                let mut items = self.nested()?;
                let value = v.visit_seq(&mut items)?;
                items.done(value)
            }
            MAP => {
                let mut entries = self.nested()?;
                let value = v.visit_map(&mut entries)?;
                entries.done(value)
            }
            tag => Err(CompactError::Tag(tag)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CompactError> {
        match self.peek()? {
            NONE => {
                self.byte()?;
                v.visit_none()
            }
            SOME => {
                self.byte()?;
                v.visit_some(self)
            }
            // A value its writer gave as itself, not as an Option (a date
            // writes its `arvo` so): present, as JSON reads it.
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CompactError> {
        match self.byte()? {
            NONE => v.visit_unit(),
            tag => Err(CompactError::Tag(tag)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, CompactError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, CompactError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CompactError> {
        match self.byte()? {
            STR => v.visit_enum(self.text()?.into_deserializer()),
            tag => Err(CompactError::Tag(tag)),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Sample<'a> {
        name: String,
        #[serde(borrow)]
        alias: std::borrow::Cow<'a, str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<u32>,
        signed: Vec<i64>,
        ratio: f64,
        flag: bool,
        kind: Kind,
        by_key: BTreeMap<String, (u8, char)>,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Kind {
        First,
        SecondOne,
    }

    /// A sequence that does not say its length beforehand.
    struct Unsized(u8);

    impl Serialize for Unsized {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq as _;
            let mut seq = s.serialize_seq(None)?;
            for i in 0..self.0 {
                seq.serialize_element(&i)?;
            }
            seq.end()
        }
    }

    /// A struct that says it has one more field than it writes.
    struct Miscounted;

    impl Serialize for Miscounted {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct as _;
            let mut st = s.serialize_struct("Miscounted", 2)?;
            st.serialize_field("only", &1u8)?;
            st.end()
        }
    }

    fn sample() -> Sample<'static> {
        Sample {
            name: "Äänekoski – Ünïcode".into(),
            alias: "x".into(),
            number: None,
            signed: vec![0, -1, 1, i64::MIN, i64::MAX, 300, -300],
            ratio: -0.5,
            flag: true,
            kind: Kind::SecondOne,
            by_key: [("a".to_string(), (255, 'ö')), ("".to_string(), (0, 'x'))].into(),
        }
    }

    fn bytes<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, v).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn values_read_back_as_written_and_whole_without_their_type() {
        let s = sample();
        let b = bytes(&s);
        let back: Sample<'_> = read(&b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, s);
        assert!(matches!(back.alias, std::borrow::Cow::Borrowed(_)), "strings are read in place");
        // Read as a value of no particular type, then as JSON: the same as
        // the JSON the value itself writes.
        let any: serde_json::Value = read(&b).unwrap_or_else(|e| panic!("{e}"));
        let mut json = serde_json::to_value(&s).unwrap_or_else(|e| panic!("{e}"));
        // Tuples are lists in both; the map's tuple values compare as lists.
        json["byKey"] = serde_json::json!({"": [0, "x"], "a": [255, "ö"]});
        assert_eq!(any, json);
        assert!(b.len() < serde_json::to_vec(&s).unwrap_or_default().len());
    }

    #[test]
    fn damaged_values_are_refused() {
        let b = bytes(&sample());
        for cut in 0..b.len() {
            assert!(read::<Sample<'_>>(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = b.clone();
        longer.push(NONE);
        assert_eq!(read::<Sample<'_>>(&longer).err(), Some(CompactError::Trailing(1)));
        // A structure of its length, then text.
        let raw =
            |structure: &[u8], text: &[u8]| -> Vec<u8> { [&[structure.len() as u8][..], structure, text].concat() };
        assert_eq!(read::<u8>(&raw(&[42], b"")).err(), Some(CompactError::Tag(42)));
        assert_eq!(read::<String>(&raw(&[STR, 2], &[0xc3, 0x28])).err(), Some(CompactError::NotText));
        assert_eq!(read::<String>(&raw(&[STR, 3], "ä".as_bytes())).err(), Some(CompactError::Truncated));
        // Lengths that cut a character in two.
        assert_eq!(
            read::<(String, String)>(&raw(&[SEQ, 2, STR, 1, STR, 1], "ä".as_bytes())).err(),
            Some(CompactError::NotText)
        );
        assert_eq!(read::<String>(&raw(&[STR, 1], b"ab")).err(), Some(CompactError::Trailing(1)));
        assert!(read::<u8>(&raw(&[UNSIGNED, 0x80, 0x02], b"")).is_err(), "256 is not a u8");
        assert_eq!(
            read::<u64>(&raw(&[UNSIGNED, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1], b"")).err(),
            Some(CompactError::Number)
        );
        // A map with a field the struct does not have, as JSON refuses it.
        let mut extra = Vec::new();
        write(&mut extra, &BTreeMap::from([("name", "n"), ("other", "o")])).unwrap_or_else(|e| panic!("{e}"));
        assert!(read::<Sample<'_>>(&extra).is_err());
        // Nesting past the limit, as only damage would make it.
        let deep: Vec<u8> = std::iter::repeat_n([SEQ, 1], MAX_DEPTH + 1).flatten().chain([NONE]).collect();
        assert_eq!(read::<serde_json::Value>(&raw(&deep, b"")).err(), Some(CompactError::TooDeep));
        let shallow: Vec<u8> = std::iter::repeat_n([SEQ, 1], MAX_DEPTH).flatten().chain([NONE]).collect();
        assert!(read::<serde_json::Value>(&raw(&shallow, b"")).is_ok());
        // A sequence claiming more items than it holds.
        assert_eq!(read::<Vec<u8>>(&raw(&[SEQ, 9, UNSIGNED, 1], b"")).err(), Some(CompactError::Truncated));
        // A count padded to five bytes, as a collection of unknown size is written.
        assert_eq!(read::<Vec<u8>>(&raw(&[SEQ, 0x81, 0x80, 0x80, 0x80, 0, UNSIGNED, 7], b"")), Ok(vec![7]));
        // A writer that miscounts is refused rather than written unreadable.
        assert!(matches!(write(&mut Vec::new(), &Miscounted), Err(CompactError::Message(_))));
        let mut unknown = Vec::new();
        write(&mut unknown, &Unsized(3)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read::<Vec<u8>>(&unknown), Ok(vec![0, 1, 2]));
    }
}

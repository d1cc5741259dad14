//! A person's stored text as the SQLite register keeps it: lz4-compressed
//! in a BLOB.
//!
//! A whole person is some 2.4 KB of JSON, so uncompressed one person filled
//! a 4 KiB page alone and a row that grew split its page; compressed (to
//! about a third) several share a page, the file is a third as large, and a
//! page of changes writes fewer pages. Text rows of an earlier version are
//! read as they are and compressed when next written: no migration, the
//! SQLite type of the value tells the two apart.
//!
//! A BLOB: the format byte [`LZ4`], the text's length (u32, little-endian),
//! the lz4 block.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;

/// The one packed format so far.
const LZ4: u8 = 1;
/// The format byte and the text's length.
const HEAD: usize = 5;

/// No person's groups come near this: a longer text is refused when
/// written, and a row claiming more is damaged, refused before anything
/// that size is allocated.
const MAX_TEXT: usize = 64 << 20;

/// A person's groups packed for writing.
pub(super) struct Packed(Vec<u8>);

impl Packed {
    pub(super) fn new(text: &str) -> rusqlite::Result<Packed> {
        if text.len() > MAX_TEXT {
            let e = format!("a person's groups of {} bytes, more than a register row holds", text.len());
            return Err(rusqlite::Error::ToSqlConversionFailure(e.into()));
        }
        let mut out = vec![0; HEAD + lz4_flex::block::get_maximum_output_size(text.len())];
        out[0] = LZ4;
        out[1..HEAD].copy_from_slice(&(text.len() as u32).to_le_bytes());
        let n = lz4_flex::block::compress_into(text.as_bytes(), &mut out[HEAD..])
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        out.truncate(HEAD + n);
        Ok(Packed(out))
    }
}

impl ToSql for Packed {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(&self.0)))
    }
}

/// A person's groups as read: packed or, written by an earlier version, text.
pub(super) struct Unpacked(pub(super) String);

impl FromSql for Unpacked {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(_) => String::column_result(value).map(Unpacked),
            ValueRef::Blob(b) => unpack(b).map(Unpacked).map_err(|e| FromSqlError::Other(e.into())),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

fn unpack(b: &[u8]) -> Result<String, String> {
    let Some((&format, rest)) = b.split_first() else { return Err("an empty stored person".into()) };
    if format != LZ4 {
        return Err(format!("a stored person in an unknown format ({format})"));
    }
    let Some((len, block)) = rest.split_first_chunk::<4>() else {
        return Err("a stored person cut short".into());
    };
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_TEXT {
        return Err(format!("a stored person claims {len} bytes"));
    }
    let text = lz4_flex::block::decompress(block, len).map_err(|e| format!("a damaged stored person: {e}"))?;
    if text.len() != len {
        return Err(format!("a stored person of {} bytes where {len} were written", text.len()));
    }
    String::from_utf8(text).map_err(|_| "a stored person that is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: &str = r#"[{"tietoryhma":"HENKILON_NIMI","etunimi":"Matti","sukunimi":"Mattila"},{"tietoryhma":"HENKILON_NIMI","etunimi":"Matti","sukunimi":"Mattila"}]"#;

    fn read(b: &[u8]) -> Result<String, String> {
        Unpacked::column_result(ValueRef::Blob(b)).map(|u| u.0).map_err(|e| e.to_string())
    }

    #[test]
    fn packed_text_reads_back_and_is_smaller() {
        let p = Packed::new(PERSON).unwrap();
        assert!(p.0.len() < PERSON.len(), "{} bytes for {}", p.0.len(), PERSON.len());
        assert_eq!(read(&p.0).unwrap(), PERSON);
        assert_eq!(read(&Packed::new("").unwrap().0).unwrap(), "");
        // Refused when written, not only when read back.
        assert!(Packed::new(&" ".repeat(MAX_TEXT + 1)).is_err());
    }

    #[test]
    fn text_of_an_earlier_version_reads_as_it_is() {
        let u = Unpacked::column_result(ValueRef::Text(PERSON.as_bytes())).ok().unwrap();
        assert_eq!(u.0, PERSON);
    }

    #[test]
    fn damaged_rows_are_refused_not_guessed() {
        let good = Packed::new(PERSON).unwrap().0;
        assert!(read(&[]).unwrap_err().contains("empty"));
        assert!(read(&[2, 0, 0, 0, 0]).unwrap_err().contains("unknown format (2)"));
        assert!(read(&good[..3]).unwrap_err().contains("cut short"));
        let mut huge = good.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&huge).unwrap_err().contains("claims"));
        let mut longer = good.clone();
        longer[1..5].copy_from_slice(&(PERSON.len() as u32 + 1).to_le_bytes());
        assert!(read(&longer).is_err());
        for cut in 5..good.len() {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut not_utf8 = vec![LZ4];
        not_utf8.extend_from_slice(&2u32.to_le_bytes());
        not_utf8.extend_from_slice(&lz4_flex::block::compress(&[0xff, 0xfe]));
        assert!(read(&not_utf8).unwrap_err().contains("UTF-8"));
        assert!(Unpacked::column_result(ValueRef::Integer(1)).is_err());
    }
}

//! Muutostietopalvelu files at the record level: lines of ISO-8859-1 bytes,
//! each an envelope line (`'''...`), or a record of a 26-byte
//! identification part followed by `|`-separated groups `GGGm...` (group
//! code, change type, fixed-width fields), or in a hetu-list upload a hetu
//! with its `L`/`P` operation.
//!
//! This layer keeps every byte: reading and writing a file gives the same
//! bytes back, including each line's ending (CRLF, LF, or none at the end of
//! the file) and a trailing `|`. The typed meaning of each group code (its
//! fields and their widths) is the layer above; here a group's fields are
//! kept as bytes, so an unknown group code is never dropped.
//!
//! Above it: [`layout`] (each group code's fixed-width fields), [`codec`]
//! (a data group's change as record groups), [`delivery`] (this
//! service's `.PTT`/`.MTT` files, streamed record by record) and
//! [`manifest`] (the directory's list of deliveries).

use std::fmt;

use thiserror::Error;

pub mod codec;
pub mod delivery;
pub mod htt;
pub mod latin1;
pub mod layout;
pub mod manifest;

/// The identification part's length in bytes.
pub const ID_LEN: usize = 26;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
}

fn err(line: usize, message: impl Into<String>) -> FormatError {
    FormatError::Line { line, message: message.into() }
}

/// How a line ended in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    CrLf,
    Lf,
    /// The file's last line, without a terminator.
    None,
}

impl Ending {
    fn bytes(self) -> &'static [u8] {
        match self {
            Ending::CrLf => b"\r\n",
            Ending::Lf => b"\n",
            Ending::None => b"",
        }
    }
}

/// One group of a record: `GGG` code, `m` change type, then its fields.
#[derive(Clone, PartialEq, Eq)]
pub struct RawGroup {
    pub code: [u8; 3],
    /// 0 extra info, 1 added, 3 changed, 4 removed, 5 to be corrected, 6 corrected.
    pub change: u8,
    pub fields: Vec<u8>,
}

impl RawGroup {
    pub fn code_str(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("???")
    }
}

impl fmt::Debug for RawGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}:{:?}", self.code_str(), self.change as char, latin1::decode(&self.fields))
    }
}

/// A person record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Hetu, event code, registration date and the record's flags, as bytes.
    pub id: [u8; ID_LEN],
    pub groups: Vec<RawGroup>,
    /// Whether the line ends with a `|` after its last group.
    pub trailing_bar: bool,
}

impl Record {
    pub fn hetu(&self) -> &[u8] {
        &self.id[..11]
    }

    pub fn event_code(&self) -> &[u8] {
        &self.id[11..14]
    }

    pub fn registered(&self) -> &[u8] {
        &self.id[14..22]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// `'''...`: the header or trailer of a file, kept as it is.
    Envelope(Vec<u8>),
    Record(Record),
    /// A hetu-list upload line: hetu and `L` (add) or `P` (remove).
    HetuOp {
        hetu: [u8; 11],
        op: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub ending: Ending,
}

/// Splits a file into lines with their endings.
pub(crate) fn split_lines(bytes: &[u8]) -> Vec<(&[u8], Ending)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (body, ending) = if i > 0 && rest[i - 1] == b'\r' {
                    (&rest[..i - 1], Ending::CrLf)
                } else {
                    (&rest[..i], Ending::Lf)
                };
                out.push((body, ending));
                rest = &rest[i + 1..];
            }
            None => {
                out.push((rest, Ending::None));
                rest = &[];
            }
        }
    }
    out
}

fn parse_group(bytes: &[u8], line: usize) -> Result<RawGroup, FormatError> {
    if bytes.len() < 4 || !bytes[..4].iter().all(u8::is_ascii_digit) {
        return Err(err(
            line,
            format!("a group must start with a 3-digit code and a change digit: {:?}", latin1::decode(bytes)),
        ));
    }
    Ok(RawGroup { code: [bytes[0], bytes[1], bytes[2]], change: bytes[3], fields: bytes[4..].to_vec() })
}

fn parse_line(body: &[u8], line: usize) -> Result<LineKind, FormatError> {
    if body.starts_with(b"'''") {
        return Ok(LineKind::Envelope(body.to_vec()));
    }
    if body.len() == 12 && matches!(body[11], b'L' | b'P') {
        let mut hetu = [0u8; 11];
        hetu.copy_from_slice(&body[..11]);
        return Ok(LineKind::HetuOp { hetu, op: body[11] });
    }
    parse_record(body, line).map(LineKind::Record)
}

pub(crate) fn parse_record(body: &[u8], line: usize) -> Result<Record, FormatError> {
    if body.len() < ID_LEN + 1 {
        return Err(err(
            line,
            format!("a record needs a {ID_LEN}-byte identification part and `|`; the line has {} bytes", body.len()),
        ));
    }
    if body[ID_LEN] != b'|' {
        return Err(err(line, format!("byte {} after the identification part must be `|`", ID_LEN + 1)));
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&body[..ID_LEN]);
    let mut rest = &body[ID_LEN + 1..];
    let trailing_bar = rest.last() == Some(&b'|');
    if trailing_bar {
        rest = &rest[..rest.len() - 1];
    }
    let groups = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&b| b == b'|').map(|g| parse_group(g, line)).collect::<Result<_, _>>()?
    };
    Ok(Record { id, groups, trailing_bar })
}

/// Reads a whole file. Any bad line makes the whole file an error, with
/// its line number: nothing is applied from a file with errors.
pub fn read(bytes: &[u8]) -> Result<Vec<Line>, FormatError> {
    split_lines(bytes)
        .into_iter()
        .enumerate()
        .map(|(i, (body, ending))| Ok(Line { kind: parse_line(body, i + 1)?, ending }))
        .collect()
}

/// Writes lines back to bytes.
pub fn write(lines: &[Line]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        match &l.kind {
            LineKind::Envelope(b) => out.extend_from_slice(b),
            LineKind::HetuOp { hetu, op } => {
                out.extend_from_slice(hetu);
                out.push(*op);
            }
            LineKind::Record(r) => {
                out.extend_from_slice(&r.id);
                out.push(b'|');
                for (i, g) in r.groups.iter().enumerate() {
                    if i > 0 {
                        out.push(b'|');
                    }
                    out.extend_from_slice(&g.code);
                    out.push(g.change);
                    out.extend_from_slice(&g.fields);
                }
                if r.trailing_bar {
                    out.push(b'|');
                }
            }
        }
        out.extend_from_slice(l.ending.bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_and_trailing_bars_are_kept() {
        let file = b"010181-900CXXX202601010101|0021fi|00312|\r\n'''EOF'''1'\n010181-900CL";
        let lines = read(file).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines.iter().map(|l| l.ending).collect::<Vec<_>>(), [Ending::CrLf, Ending::Lf, Ending::None]);
        let LineKind::Record(r) = &lines[0].kind else { panic!() };
        assert_eq!((r.hetu(), r.event_code(), r.registered()), (&b"010181-900C"[..], &b"XXX"[..], &b"20260101"[..]));
        assert_eq!(r.groups.len(), 2);
        assert!(r.trailing_bar);
        assert_eq!(write(&lines), file);
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            read(b"'''ED2'''\nshort\n"),
            Err(err(2, "a record needs a 26-byte identification part and `|`; the line has 5 bytes"))
        );
        let e = read(b"010181-900CXXX202601010101|00x1fi").unwrap_err();
        assert!(e.to_string().starts_with("line 1: a group must start"), "{e}");
    }
}

//! Delivery files of this service: an initial delivery (`.PTT`) or a change
//! delivery (`.MTT`) for one permit, written and read a record at a time
//! so that neither side holds a whole population in memory.
//!
//! ```text
//! '''ED2'''VTJ:<recipient>'TYP:PTT'LUPA:<permit>'NRO:<seq>'ALKU:<cursor>'LOPPU:<cursor>'PVM:<yyyymmdd>'''
//! <record>...
//! '''EOF'''<record lines>'
//! ```
//!
//! A record's identification part is the hetu, a 3-letter event code, the
//! registration date, a 2-digit role (`00` initial, `01` change, `02` enters
//! scope, `03` leaves scope) and a 2-digit line number: a record longer than
//! a line continues on lines numbered 02, 03, ... with the same identity.
//! The trailer counts record lines, so a truncated file is always noticed.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use thiserror::Error;
use time::Date;
use vtj_core::date::ymd;
use vtj_core::{GroupChange, Hetu, VtjDate};

use crate::codec::{self, CodecError};
use crate::{latin1, RawGroup, ID_LEN};

/// Longest record line written; longer records continue on further lines.
pub const MAX_LINE: usize = 1_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// Perustietotoimitus: everyone in scope.
    Initial,
    /// Muutostietotoimitus: the changes in a cursor range.
    Changes,
}

impl DeliveryKind {
    pub fn extension(self) -> &'static str {
        match self {
            DeliveryKind::Initial => "PTT",
            DeliveryKind::Changes => "MTT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub kind: DeliveryKind,
    pub recipient: String,
    pub permit: String,
    /// 1 for the initial delivery, then one more for each change delivery.
    pub seq: u32,
    /// The delivery covers changes with cursor in `(from, to]`; an initial
    /// delivery is the state at `to`, and `from` equals it.
    pub from: i64,
    pub to: i64,
    pub created: Date,
}

/// What happened to the person in the recipient's eyes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Initial,
    Change,
    Enter,
    Leave,
}

impl Role {
    fn code(self) -> &'static [u8; 2] {
        match self {
            Role::Initial => b"00",
            Role::Change => b"01",
            Role::Enter => b"02",
            Role::Leave => b"03",
        }
    }

    fn parse(b: &[u8]) -> Option<Role> {
        [Role::Initial, Role::Change, Role::Enter, Role::Leave].into_iter().find(|r| r.code() == b)
    }
}

/// One person's record: their data in an initial delivery, or one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub hetu: Hetu,
    /// The event as the REST service names it (`tapahtuma`).
    pub event: String,
    pub registered: Date,
    pub role: Role,
    pub groups: Vec<GroupChange>,
}

/// Event names and their 3-letter codes. `XXX` marks the records of an
/// initial delivery, as in real files; the `Y..` codes are this project's.
const EVENTS: &[(&str, &[u8; 3])] = &[
    ("PERUSTIEDOT", b"XXX"),
    ("SYNTYMA", b"YSY"),
    ("KUOLEMA", b"YKU"),
    ("MUUTTO_KUNNAN_SISALLA", b"YMS"),
    ("MUUTTO_TOISEEN_KUNTAAN", b"YMT"),
    ("TILAPAINEN_OSOITE", b"YTO"),
    ("POSTIOSOITE", b"YPO"),
    ("ULKOMAINEN_POSTIOSOITE", b"YUP"),
    ("TILAPAINEN_ULKOMAINEN_OSOITE", b"YTU"),
    ("MUUTTO_ULKOMAILLE", b"YMU"),
    ("PALUU_ULKOMAILTA", b"YPU"),
    ("NIMENMUUTOS", b"YNM"),
    ("KIELEN_MUUTOS", b"YKM"),
    ("TURVAKIELTO_ALKAA", b"YTA"),
    ("TURVAKIELTO_JATKUU", b"YTJ"),
    ("TURVAKIELTO_PAATTYY", b"YTP"),
    ("KOTIMAINEN_YHTEYSOSOITE", b"YKY"),
    ("ULKOMAINEN_YHTEYSOSOITE", b"YUY"),
    ("EDUNVALVONTA_ALKAA", b"YEA"),
    ("EDUNVALVONTA_PAATTYY", b"YEP"),
    ("EDUNVALVONTAVALTUUTUS_VAHVISTETTU", b"YEV"),
    ("HENKILOTUNNUS_KORJAUS", b"YHK"),
    ("TIETORYHMIEN_REKISTEROINTI", b"YTR"),
    ("TIETOJEN_MUUTOS", b"YTM"),
    (LIST_ADDED, b"YLL"),
    (LIST_REMOVED, b"YLP"),
];

/// A hetu-list permit's person added to the list since the last delivery.
pub const LIST_ADDED: &str = "HETULISTALLE_LISATTY";
/// ... and one removed from it: the recipient deletes what it holds.
pub const LIST_REMOVED: &str = "HETULISTALTA_POISTETTU";

/// The event name of initial-delivery records.
pub const INITIAL_EVENT: &str = "PERUSTIEDOT";

fn event_code(name: &str) -> Option<&'static [u8; 3]> {
    EVENTS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn event_name(code: &[u8]) -> Option<&'static str> {
    EVENTS.iter().find(|(_, c)| c.as_slice() == code).map(|(n, _)| *n)
}

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("record for {hetu}: {source}")]
    Codec { hetu: String, source: CodecError },
    #[error("header: {0}")]
    Header(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn at(line: usize, message: impl Into<String>) -> DeliveryError {
    DeliveryError::Line { line, message: message.into() }
}

fn header_line(h: &Header) -> Result<Vec<u8>, DeliveryError> {
    for (what, v) in [("recipient", &h.recipient), ("permit", &h.permit)] {
        if v.is_empty() || v.contains(['\'', '\r', '\n']) {
            return Err(DeliveryError::Header(format!("{what} {v:?} cannot be written in a header")));
        }
    }
    let text = format!(
        "'''ED2'''VTJ:{}'TYP:{}'LUPA:{}'NRO:{}'ALKU:{}'LOPPU:{}'PVM:{}'''",
        h.recipient,
        h.kind.extension(),
        h.permit,
        h.seq,
        h.from,
        h.to,
        ymd(h.created)
    );
    latin1::encode(&text).map_err(|e| DeliveryError::Header(e.to_string()))
}

fn parse_header(body: &[u8]) -> Result<Header, DeliveryError> {
    let text = latin1::decode(body);
    let bad = |why: &str| at(1, format!("not a delivery header ({why}): {text:?}"));
    let inner = text
        .strip_prefix("'''ED2'''")
        .and_then(|t| t.strip_suffix("'''"))
        .ok_or_else(|| bad("it must be '''ED2'''...'''"))?;
    let mut fields = BTreeMap::new();
    for part in inner.split('\'') {
        let (k, v) = part.split_once(':').ok_or_else(|| bad("a field without `:`"))?;
        fields.insert(k, v);
    }
    let get = |k: &str| fields.get(k).copied().ok_or_else(|| bad(&format!("no {k}")));
    let num = |k: &str| get(k)?.parse::<i64>().map_err(|_| bad(&format!("{k} is not a number")));
    let kind = match get("TYP")? {
        "PTT" => DeliveryKind::Initial,
        "MTT" => DeliveryKind::Changes,
        other => return Err(bad(&format!("unknown TYP {other}"))),
    };
    let created = match VtjDate::parse(get("PVM")?) {
        Ok(VtjDate::Full(d)) => d,
        _ => return Err(bad("PVM is not a date")),
    };
    let seq = u32::try_from(num("NRO")?).map_err(|_| bad("NRO out of range"))?;
    Ok(Header {
        kind,
        recipient: get("VTJ")?.to_string(),
        permit: get("LUPA")?.to_string(),
        seq,
        from: num("ALKU")?,
        to: num("LOPPU")?,
        created,
    })
}

/// Writes a delivery record by record; `finish` writes the trailer.
pub struct DeliveryWriter<W: Write> {
    out: W,
    lines: u64,
    items: u64,
}

impl<W: Write> DeliveryWriter<W> {
    pub fn new(mut out: W, header: &Header) -> Result<DeliveryWriter<W>, DeliveryError> {
        out.write_all(&header_line(header)?)?;
        out.write_all(b"\r\n")?;
        Ok(DeliveryWriter { out, lines: 0, items: 0 })
    }

    pub fn write(&mut self, item: &Item) -> Result<(), DeliveryError> {
        let lines = encode_item(item, MAX_LINE)?;
        for l in &lines {
            self.out.write_all(l)?;
            self.out.write_all(b"\r\n")?;
        }
        self.lines += lines.len() as u64;
        self.items += 1;
        Ok(())
    }

    pub fn items(&self) -> u64 {
        self.items
    }

    /// Writes the trailer and hands back the output, flushed.
    pub fn finish(mut self) -> Result<W, DeliveryError> {
        write!(self.out, "'''EOF'''{}'\r\n", self.lines)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One item as record lines of at most `max_line` bytes (a single group
/// longer than that still gets a line of its own).
pub fn encode_item(item: &Item, max_line: usize) -> Result<Vec<Vec<u8>>, DeliveryError> {
    let codec_err = |source| DeliveryError::Codec { hetu: item.hetu.to_string(), source };
    let code = event_code(&item.event)
        .ok_or_else(|| DeliveryError::Header(format!("event {:?} has no record code", item.event)))?;
    let mut groups: Vec<RawGroup> = Vec::new();
    for g in &item.groups {
        groups.extend(codec::encode(g).map_err(codec_err)?);
    }
    let id = |n: usize| -> Result<Vec<u8>, DeliveryError> {
        if n > 99 {
            return Err(DeliveryError::Codec {
                hetu: item.hetu.to_string(),
                source: CodecError::Malformed("a record longer than 99 lines".into()),
            });
        }
        let mut id = Vec::with_capacity(ID_LEN + 1);
        id.extend_from_slice(item.hetu.as_str().as_bytes());
        id.extend_from_slice(code);
        id.extend_from_slice(ymd(item.registered).as_bytes());
        id.extend_from_slice(item.role.code());
        id.extend_from_slice(format!("{n:02}").as_bytes());
        id.push(b'|');
        Ok(id)
    };
    let mut lines = vec![id(1)?];
    for g in &groups {
        let len = 4 + g.fields.len() + 1;
        if lines.last().is_some_and(|l| l.len() > ID_LEN + 1 && l.len() + len > max_line) {
            lines.push(id(lines.len() + 1)?);
        }
        let line = lines.last_mut().expect("at least one line");
        line.extend_from_slice(&g.code);
        line.push(g.change);
        line.extend_from_slice(&g.fields);
        line.push(b'|');
    }
    Ok(lines)
}

/// Reads a delivery record by record, checking the trailer at the end.
pub struct DeliveryReader<R: BufRead> {
    input: R,
    header: Header,
    line_no: usize,
    record_lines: u64,
    /// A record line read ahead while looking for continuations.
    ahead: Option<Vec<u8>>,
    done: bool,
    /// Groups of codes this program does not know, by code: not applied.
    pub unknown: BTreeMap<String, u64>,
}

impl<R: BufRead> DeliveryReader<R> {
    pub fn new(mut input: R) -> Result<DeliveryReader<R>, DeliveryError> {
        let first = read_line(&mut input, 1)?.ok_or_else(|| at(1, "the file is empty"))?;
        let header = parse_header(&first)?;
        Ok(DeliveryReader {
            input,
            header,
            line_no: 1,
            record_lines: 0,
            ahead: None,
            done: false,
            unknown: BTreeMap::new(),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    fn next_line(&mut self) -> Result<Vec<u8>, DeliveryError> {
        if let Some(l) = self.ahead.take() {
            return Ok(l);
        }
        self.line_no += 1;
        let line = read_line(&mut self.input, self.line_no)?
            .ok_or_else(|| at(self.line_no, "the file ends without its '''EOF''' line: it is truncated"))?;
        if let Some(rest) = line.strip_prefix(b"'''EOF'''") {
            let count = rest.strip_suffix(b"'").and_then(|n| latin1::decode(n).parse::<u64>().ok());
            if count != Some(self.record_lines) {
                return Err(at(
                    self.line_no,
                    format!(
                        "the trailer {:?} does not count the {} record lines read",
                        latin1::decode(&line),
                        self.record_lines
                    ),
                ));
            }
            if read_line(&mut self.input, self.line_no + 1)?.is_some() {
                return Err(at(self.line_no + 1, "lines after the '''EOF''' line"));
            }
            self.done = true;
        } else {
            self.record_lines += 1;
        }
        Ok(line)
    }

    /// The next record, or `None` after a complete, verified file.
    pub fn next_item(&mut self) -> Result<Option<Item>, DeliveryError> {
        if self.done {
            return Ok(None);
        }
        let first = self.next_line()?;
        if self.done {
            return Ok(None);
        }
        let start = self.line_no;
        let record = crate::parse_record(&first, start).map_err(|e| at(start, e.to_string()))?;
        let id = record.id;
        if &id[24..26] != b"01" {
            return Err(at(start, "a continuation line without the record it continues"));
        }
        let mut groups = record.groups;
        let mut expect = 2;
        loop {
            let line = self.next_line()?;
            if self.done {
                break;
            }
            if line.len() >= ID_LEN && line[..24] == id[..24] && line[24..26] == *format!("{expect:02}").as_bytes() {
                let more = crate::parse_record(&line, self.line_no).map_err(|e| at(self.line_no, e.to_string()))?;
                groups.extend(more.groups);
                expect += 1;
            } else {
                // Counted once, when read; the next record starts with it.
                self.ahead = Some(line);
                break;
            }
        }
        self.item(&id, &groups, start).map(Some)
    }

    fn item(&mut self, id: &[u8; ID_LEN], groups: &[RawGroup], line: usize) -> Result<Item, DeliveryError> {
        let text = latin1::decode(&id[..11]);
        let hetu = Hetu::parse(&text).map_err(|e| at(line, format!("hetu {text:?}: {e}")))?;
        let event = event_name(&id[11..14])
            .ok_or_else(|| at(line, format!("unknown event code {:?}", latin1::decode(&id[11..14]))))?
            .to_string();
        let registered = match VtjDate::parse(&latin1::decode(&id[14..22])) {
            Ok(VtjDate::Full(d)) => d,
            _ => return Err(at(line, "the registration date is not a date")),
        };
        let role = Role::parse(&id[22..24]).ok_or_else(|| at(line, "unknown record role"))?;
        let decoded = codec::decode(groups).map_err(|e| at(line, format!("{hetu}: {e}")))?;
        for g in &decoded.unknown {
            *self.unknown.entry(g.code_str().to_string()).or_default() += 1;
        }
        Ok(Item { hetu, event, registered, role, groups: decoded.changes })
    }
}

/// One line without its CRLF; `None` at the end of the input.
fn read_line<R: BufRead>(input: &mut R, line: usize) -> Result<Option<Vec<u8>>, DeliveryError> {
    let mut buf = Vec::new();
    if input.read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\r\n") {
        return Err(at(line, "the line does not end in CRLF: the file is truncated or not a delivery"));
    }
    buf.truncate(buf.len() - 2);
    Ok(Some(buf))
}

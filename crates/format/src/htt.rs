//! A recipient's hetu-list upload (`.HTT`): an envelope line, one line per
//! hetu with `L` (add to the list) or `P` (remove), and a closing
//! `'''EOF'''N'` line whose N is the number of hetu lines. A file is taken
//! whole or not at all: every problem is reported with its line number.

use std::fmt;

use vtj_core::Hetu;

use crate::{latin1, split_lines};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HetuListUpload {
    pub add: Vec<Hetu>,
    pub remove: Vec<Hetu>,
}

/// Every problem found in a file, each with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadError {
    pub problems: Vec<String>,
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problems, nothing applied:", self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UploadError {}

pub fn read_hetu_list(bytes: &[u8]) -> Result<HetuListUpload, UploadError> {
    let lines = split_lines(bytes);
    let mut problems = Vec::new();
    let mut upload = HetuListUpload::default();
    let n = lines.len();
    if n < 2 {
        return Err(UploadError { problems: vec!["the file needs an opening and a closing `'''` line".into()] });
    }
    if !lines[0].0.starts_with(b"'''") {
        problems.push("line 1: the file must open with a `'''` envelope line".into());
    }
    let mut data = 0usize;
    for (i, (body, _)) in lines.iter().enumerate().take(n - 1).skip(1) {
        let at = i + 1;
        data += 1;
        let text = latin1::decode(body);
        let (hetu, op) = match (text.len(), text.chars().last()) {
            (12, Some(op @ ('L' | 'P'))) => (&text[..11], op),
            _ => {
                problems.push(format!("line {at}: expected a hetu and L or P, found {text:?}"));
                continue;
            }
        };
        match Hetu::parse(hetu) {
            Ok(h) if op == 'L' => upload.add.push(h),
            Ok(h) => upload.remove.push(h),
            Err(e) => problems.push(format!("line {at}: {hetu}: {e}")),
        }
    }
    let last = latin1::decode(lines[n - 1].0);
    match last.strip_prefix("'''EOF'''").and_then(|r| r.strip_suffix('\'')).map(str::parse::<usize>) {
        Some(Ok(count)) if count == data => {}
        Some(Ok(count)) => {
            problems.push(format!("line {n}: the trailer counts {count} hetu lines, the file has {data}"))
        }
        _ => problems.push(format!("line {n}: the file must close with `'''EOF'''<count>'`, found {last:?}")),
    }
    if problems.is_empty() {
        Ok(upload)
    } else {
        Err(UploadError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"'''ED2'''TEST'\n010181-900CL\n010594Y9032P\r\n020516C903KL\n'''EOF'''3'";

    #[test]
    fn adds_and_removes() {
        let u = read_hetu_list(GOOD).unwrap();
        assert_eq!(u.add.iter().map(Hetu::as_str).collect::<Vec<_>>(), ["010181-900C", "020516C903K"]);
        assert_eq!(u.remove.iter().map(Hetu::as_str).collect::<Vec<_>>(), ["010594Y9032"]);
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let bad = b"'''ED2'''\n010181-900DL\nhello\n010594Y9032X\n'''EOF'''9'";
        let e = read_hetu_list(bad).unwrap_err();
        assert_eq!(e.problems.len(), 4, "{e}");
        assert!(e.problems[0].starts_with("line 2: 010181-900D"), "{e}");
        assert!(e.problems[1].starts_with("line 3:"), "{e}");
        assert!(e.problems[2].starts_with("line 4:"), "{e}");
        assert!(e.problems[3].contains("counts 9 hetu lines, the file has 3"), "{e}");
        assert!(read_hetu_list(b"010181-900CL\n").is_err());
        assert!(read_hetu_list(b"'''ED2'''\n010181-900CL\n").is_err(), "no trailer");
    }
}

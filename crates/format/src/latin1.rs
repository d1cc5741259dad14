//! ISO-8859-1: every byte is the code point of the same value, so decoding
//! cannot fail; encoding fails, with the position, on anything above U+00FF
//! rather than replacing it silently.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{ch:?} (U+{code:04X}) at character {position} is not in ISO-8859-1")]
pub struct NotLatin1 {
    pub ch: char,
    pub code: u32,
    /// 1-based, in characters.
    pub position: usize,
}

pub fn decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

pub fn encode(text: &str) -> Result<Vec<u8>, NotLatin1> {
    text.chars()
        .enumerate()
        .map(|(i, ch)| u8::try_from(u32::from(ch)).map_err(|_| NotLatin1 { ch, code: u32::from(ch), position: i + 1 }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finnish_and_swedish_letters_round_trip_and_others_are_refused() {
        let text = "Pälömäki Åsa Öberg";
        let bytes = encode(text).unwrap();
        assert_eq!(bytes.len(), text.chars().count());
        assert_eq!(decode(&bytes), text);
        assert_eq!(encode("Šaša"), Err(NotLatin1 { ch: 'Š', code: 0x160, position: 1 }));
        assert_eq!(encode("ab€").unwrap_err().position, 3);
    }
}

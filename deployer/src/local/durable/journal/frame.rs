//! The journal's format on disk, pure: encoding a batch and scanning a log.
//!
//! A log is a sequence of frames. A frame is what one sync made durable:
//! `[u32 LE payload length][u32 LE CRC-32 of the payload][payload]`, the payload a sequence
//! of records `[u16 LE id length][id][u32 LE body length][body]`, the body an execution's
//! JSON. The newest record of an id is its state.
//!
//! Appends write one frame and sync it before anything after it is written, so only the last
//! frame of a log can be unfinished (a crash during its write): a bad frame that ends the
//! file is dropped (it was never acknowledged); a bad frame with bytes after it is damage to
//! what was acknowledged, and stops the start.

use std::collections::HashMap;

pub const HEADER: usize = 8;

/// Where a record's body lies in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub len: u32,
}

/// What a scan found: the newest record of each id, and how much of the log is whole.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    pub latest: HashMap<String, Span>,
    /// The length of the whole frames; past it, `torn` bytes of an unfinished write.
    pub whole: u64,
    pub torn: u64,
    pub records: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    #[error("the frame at byte {offset} is damaged ({why}) and {after} bytes follow it")]
    Damaged {
        offset: u64,
        why: &'static str,
        after: u64,
    },
}

/// Appends one frame holding `records` (id, body) to `out`, which starts at `base` in the
/// log; returns where each body lands.
pub fn encode<'a>(
    records: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    base: u64,
    out: &mut Vec<u8>,
) -> Vec<(String, Span)> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    let mut spans = Vec::new();
    for (id, body) in records {
        let id_len = u16::try_from(id.len()).expect("execution ids are short");
        let body_len = u32::try_from(body.len()).expect("an execution is under 4 GiB");
        out.extend_from_slice(&id_len.to_le_bytes());
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&body_len.to_le_bytes());
        let offset = base + out.len() as u64;
        out.extend_from_slice(body);
        spans.push((
            id.to_string(),
            Span {
                offset,
                len: body_len,
            },
        ));
    }
    let payload = &out[start + HEADER..];
    let len = u32::try_from(payload.len()).expect("a frame is under 4 GiB");
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    spans
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Reads a log: the newest record of each id, the whole length, the unfinished tail.
pub fn scan(log: &[u8]) -> Result<Scanned, ScanError> {
    let mut out = Scanned::default();
    let mut at = 0usize;
    while at < log.len() {
        let end = u32_at(log, at)
            .map(|len| at + HEADER + len as usize)
            .filter(|end| *end <= log.len());
        let Some(end) = end else {
            // The header or the payload runs past the end: an unfinished write.
            break;
        };
        let crc = u32_at(log, at + 4).unwrap_or_default();
        let damaged = |why| ScanError::Damaged {
            offset: at as u64,
            why,
            after: (log.len() - end) as u64,
        };
        if crc32fast::hash(&log[at + HEADER..end]) != crc {
            if end == log.len() {
                break;
            }
            return Err(damaged("checksum mismatch"));
        }
        records(log, at + HEADER, end, &mut out).ok_or_else(|| damaged("malformed record"))?;
        at = end;
    }
    out.whole = at as u64;
    out.torn = (log.len() - at) as u64;
    Ok(out)
}

/// The records of the frame payload `log[from..end]` into `out`; None if malformed.
fn records(log: &[u8], from: usize, end: usize, out: &mut Scanned) -> Option<()> {
    let mut at = from;
    while at < end {
        let id_len = u16_at(log, at)? as usize;
        let id = std::str::from_utf8(log.get(at + 2..at + 2 + id_len)?).ok()?;
        at += 2 + id_len;
        let len = u32_at(log, at)?;
        at += 4;
        if at + len as usize > end {
            return None;
        }
        let span = Span {
            offset: at as u64,
            len,
        };
        out.latest.insert(id.to_string(), span);
        out.records += 1;
        at += len as usize;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(frames: &[&[(&str, &str)]]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            let base = out.len() as u64;
            let mut buf = Vec::new();
            encode(
                frame.iter().map(|(i, b)| (*i, b.as_bytes())),
                base,
                &mut buf,
            );
            out.extend(buf);
        }
        out
    }

    fn body<'a>(log: &'a [u8], s: &Scanned, id: &str) -> &'a str {
        let span = s.latest[id];
        let at = span.offset as usize;
        std::str::from_utf8(&log[at..at + span.len as usize]).unwrap()
    }

    #[test]
    fn the_newest_record_of_each_id_wins_across_frames() {
        let bytes = log(&[&[("a", "1"), ("b", "1")], &[("a", "2")], &[]]);
        let s = scan(&bytes).unwrap();
        assert_eq!((s.records, s.torn, s.whole), (3, 0, bytes.len() as u64));
        assert_eq!(body(&bytes, &s, "a"), "2");
        assert_eq!(body(&bytes, &s, "b"), "1");
    }

    #[test]
    fn an_unfinished_last_frame_is_dropped_whatever_was_cut() {
        let whole = log(&[&[("a", "1")]]);
        let two = log(&[&[("a", "1")], &[("a", "22"), ("b", "x")]]);
        for cut in whole.len() + 1..two.len() {
            let s = scan(&two[..cut]).unwrap();
            assert_eq!(s.whole, whole.len() as u64, "cut at {cut}");
            assert_eq!(s.torn, (cut - whole.len()) as u64);
            assert_eq!(body(&two, &s, "a"), "1");
            assert!(!s.latest.contains_key("b"));
        }
        // Written to its full length but not all of it reached the disk (zeros).
        let mut zeroed = two.clone();
        let n = zeroed.len();
        zeroed[n - 3..].fill(0);
        let s = scan(&zeroed).unwrap();
        assert_eq!(s.whole, whole.len() as u64);
    }

    #[test]
    fn damage_before_the_last_frame_stops_the_scan() {
        let mut bytes = log(&[&[("a", "1")], &[("a", "2")]]);
        bytes[HEADER + 4] ^= 1;
        let err = scan(&bytes).unwrap_err();
        let after = bytes.len() - (HEADER + 2 + 1 + 4 + 1);
        assert_eq!(
            err,
            ScanError::Damaged {
                offset: 0,
                why: "checksum mismatch",
                after: after as u64
            }
        );
    }

    #[test]
    fn a_checksummed_frame_with_malformed_records_is_damage() {
        let mut bytes = Vec::new();
        let payload = [5u8, 0, b'a'];
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        assert!(matches!(
            scan(&bytes),
            Err(ScanError::Damaged {
                why: "malformed record",
                ..
            })
        ));
    }
}

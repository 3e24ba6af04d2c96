//! The parallel path of the whole-file CSV reader (see [`super::csv`]).
//!
//! The data rows are cut at line ends into chunks of about `chunk_bytes`; csv-core
//! tokenizes the chunks in parallel (rayon) with arrow-csv's settings, and each field is
//! kept as text and, while its column's fields keep parsing with [`parse_number`], as a
//! number. The chunks are then joined and each column typed with the sequential reader's
//! rules: a column quoted anywhere is text unless every column is quoted; otherwise it is
//! `Float64` when every non-missing field is a number.
//!
//! A cut is a guess: a line end may lie inside a quoted field. The guess is checked: a
//! chunk that starts at a record boundary and ends inside a quoted field shows that the
//! next cut is wrong, and the rest of the data is then parsed as one chunk. Whatever the
//! sequential reader reports as an error (a row with the wrong number of fields, a quote
//! that is never closed) makes this path give up (`None`), and the caller runs the
//! sequential reader, which names the line.

use super::{csv::record_closes, is_na, parse_number};
use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef};
use csv_core::{ReadRecordResult, Reader};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// The smallest chunk [`chunk_bytes_for`] picks.
const MIN_CHUNK_BYTES: usize = 1 << 20;

/// Chunk size for `len` bytes of data: about four chunks per rayon thread (for balance),
/// at least [`MIN_CHUNK_BYTES`].
pub(crate) fn chunk_bytes_for(len: usize) -> usize {
    let pieces = 4 * rayon::current_num_threads().max(1);
    (len / pieces).max(MIN_CHUNK_BYTES)
}

/// The typed columns of the rows in `bytes[data_start..]` (`data_start` is just past the
/// header's line end), with their row count; `None` when the sequential reader must decide.
pub(crate) fn read_columns(
    bytes: &[u8],
    data_start: usize,
    ncols: usize,
    chunk_bytes: usize,
) -> Option<(usize, Vec<Typed>)> {
    if data_start >= bytes.len() {
        return Some((0, Vec::new()));
    }
    let parts: Vec<Part> = cuts(bytes, data_start, chunk_bytes.max(1))
        .into_par_iter()
        .map(|r| parse_part(bytes, r, ncols, false))
        .collect();
    let parts = check_parts(bytes, parts, ncols)?;
    let rows = parts.iter().map(|p| p.rows).sum();
    if rows == 0 {
        return Some((0, Vec::new()));
    }
    Some((rows, join(bytes, parts, ncols)?))
}

/// Ranges of the data cut just after a `\n` about every `chunk_bytes` bytes.
fn cuts(bytes: &[u8], data_start: usize, chunk_bytes: usize) -> Vec<Range<usize>> {
    let mut starts = vec![data_start];
    let mut at = data_start;
    while bytes.len() - at > chunk_bytes {
        let target = at + chunk_bytes;
        match bytes[target..].iter().position(|&c| c == b'\n') {
            Some(i) if target + i + 1 < bytes.len() => at = target + i + 1,
            _ => break,
        }
        starts.push(at);
    }
    let ends = starts.iter().skip(1).copied().chain([bytes.len()]);
    starts.iter().zip(ends).map(|(&s, e)| s..e).collect()
}

/// Keep the parts whose starts are proven record boundaries; re-parse the rest in one piece
/// after a cut inside a quoted field. `None` when the sequential reader must decide.
fn check_parts(bytes: &[u8], mut parts: Vec<Part>, ncols: usize) -> Option<Vec<Part>> {
    let last = parts.len() - 1;
    for i in 0..parts.len() {
        match parts[i].end {
            End::GiveUp => return None,
            End::Clean => {}
            End::Open { .. } if i < last => {
                // Part i starts at a record boundary, so its end is inside a quoted field.
                let start = parts[i].range.start;
                parts.truncate(i);
                let rest = parse_part(bytes, start..bytes.len(), ncols, false);
                check_final(bytes, &rest)?;
                parts.push(rest);
                return Some(parts);
            }
            End::Open { .. } => check_final(bytes, &parts[i])?,
        }
    }
    Some(parts)
}

/// The last part is fine unless it gave up or its last record opens a quote it never
/// closes (or could not be stored).
fn check_final(bytes: &[u8], part: &Part) -> Option<()> {
    match part.end {
        End::GiveUp => None,
        End::Clean => Some(()),
        End::Open {
            record_start,
            stored,
        } => (stored && record_closes(&bytes[record_start..])).then_some(()),
    }
}

/// How the parse of a chunk ended.
#[derive(Debug, Clone, Copy)]
enum End {
    /// After a record's line end.
    Clean,
    /// Inside the last record (no final line end, or an open quote); the record starts at
    /// this byte and was stored if it looked complete.
    Open { record_start: usize, stored: bool },
    /// A row with the wrong number of fields (or anything else the fast path leaves to the
    /// sequential reader).
    GiveUp,
}

/// One chunk's rows, column by column.
struct Part {
    range: Range<usize>,
    rows: usize,
    columns: Vec<ColumnPart>,
    end: End,
}

/// One column of a chunk: quoted anywhere?, unquoted anywhere (a value, not missing)?,
/// the numbers while all parse, and the text when kept from the chunk's first row (see
/// [`ColumnPart::new`]).
struct ColumnPart {
    quoted: bool,
    unquoted: bool,
    numbers: Option<Float64Builder>,
    text: Option<StringBuilder>,
}

impl ColumnPart {
    /// Text is kept when asked (`keep_text`) or when the first field is quoted or not a
    /// number, as text columns are; numeric columns then cost no text. A column that turns
    /// out to be text in a chunk where its text was not kept is read again ([`join`]).
    ///
    /// `rows` bounds the chunk's rows (each field takes a byte at least): a wide file gets
    /// small builders instead of a thousand rows' worth per column.
    fn new(first: &str, quoted: bool, keep_text: bool, rows: usize) -> Self {
        let keep = keep_text || quoted || (!is_na(first) && parse_number(first).is_none());
        Self {
            quoted: false,
            unquoted: false,
            numbers: Some(Float64Builder::with_capacity(rows)),
            text: keep.then(|| StringBuilder::with_capacity(rows, rows)),
        }
    }

    /// Add one field (unescaped).
    fn push(&mut self, s: &str, quoted: bool) {
        self.quoted |= quoted;
        if is_na(s) {
            if let Some(b) = &mut self.numbers {
                b.append_null();
            }
            if let Some(t) = &mut self.text {
                t.append_null();
            }
            return;
        }
        self.unquoted |= !quoted;
        if let Some(b) = &mut self.numbers {
            match parse_number(s) {
                Some(v) => b.append_value(v),
                None => self.numbers = None,
            }
        }
        if let Some(t) = &mut self.text {
            t.append_value(s);
        }
    }
}

/// Tokenize `bytes[range]` with csv-core as arrow-csv configures it (defaults); keep every
/// column's text if `keep_text`.
///
/// The byte before `range.start` (a line end) is fed first: csv-core skips it as a blank
/// line, and it stops csv-core from dropping a UTF-8 byte-order mark at the chunk's start,
/// which arrow-csv (reading on from the header) would keep.
fn parse_part(bytes: &[u8], range: Range<usize>, ncols: usize, keep_text: bool) -> Part {
    let from = range.start - 1;
    let mut part = Part {
        range: range.clone(),
        rows: 0,
        columns: Vec::new(),
        end: End::GiveUp,
    };
    if !matches!(bytes[from], b'\n' | b'\r') {
        return part;
    }
    let input = &bytes[from..range.end];
    let rows_bound = (input.len() / ncols.max(1)).clamp(1, 1024);
    let mut reader = Reader::new();
    let mut out = vec![0u8; 1024];
    let mut ends = vec![0usize; ncols + 1];
    let mut quoted = vec![false; ncols];
    let (mut pos, mut olen, mut elen) = (0, 0, 0);
    let mut start = None;
    loop {
        // Where the record begins (past blank lines), learnt before its first byte is read.
        let record_start = *start.get_or_insert_with(|| pos + skip_line_ends(&input[pos..]));
        let at_eof = pos == input.len();
        let (res, nin, nout, nend) =
            reader.read_record(&input[pos..], &mut out[olen..], &mut ends[elen..]);
        pos += nin;
        olen += nout;
        elen += nend;
        match res {
            ReadRecordResult::InputEmpty => continue,
            ReadRecordResult::OutputFull => {
                out.resize(2 * out.len(), 0);
                continue;
            }
            ReadRecordResult::OutputEndsFull => return part,
            ReadRecordResult::End => {
                part.end = End::Clean;
                return part;
            }
            ReadRecordResult::Record => {}
        }
        let record = std::str::from_utf8(&out[..olen]).ok();
        let raw = &input[record_start..pos];
        let ok = elen == ncols && record.is_some() && quote_flags(raw, &ends[..ncols], &mut quoted);
        if ok {
            let record = record.unwrap_or_default();
            if part.columns.is_empty() {
                part.columns = (0..ncols)
                    .map(|j| {
                        let first = field(record, &ends, j);
                        ColumnPart::new(first, quoted[j], keep_text, rows_bound)
                    })
                    .collect();
            }
            for (j, c) in part.columns.iter_mut().enumerate() {
                c.push(field(record, &ends, j), quoted[j]);
            }
            part.rows += 1;
        }
        if at_eof {
            // The record ran to the end of the chunk: in a chunk cut inside a quoted field
            // it is a fragment, so it may look ragged; the caller decides.
            part.end = End::Open {
                record_start: from + record_start,
                stored: ok,
            };
            return part;
        }
        if !ok {
            return part;
        }
        (olen, elen, start) = (0, 0, None);
    }
}

/// Field `j` of a record whose field ends (in `record`) are `ends`.
fn field<'a>(record: &'a str, ends: &[usize], j: usize) -> &'a str {
    let start = if j == 0 { 0 } else { ends[j - 1] };
    &record[start..ends[j]]
}

/// The number of line-end bytes at the start of `b` (blank lines csv-core skips).
fn skip_line_ends(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\n' || c == b'\r').count()
}

/// Which fields of the record whose raw bytes start `raw` are quoted, given the ends of
/// its unescaped fields: an unquoted field is copied verbatim by csv-core (so it spans its
/// unescaped length), a quoted one runs to its closing quote and then to the next
/// delimiter or line end. False if the raw bytes do not fit the fields (never expected).
fn quote_flags(raw: &[u8], ends: &[usize], quoted: &mut [bool]) -> bool {
    if !raw.contains(&b'"') {
        quoted.fill(false);
        return true;
    }
    let mut r = 0;
    for (j, q) in quoted.iter_mut().enumerate() {
        if j > 0 {
            if raw.get(r) != Some(&b',') {
                return false;
            }
            r += 1;
        }
        *q = raw.get(r) == Some(&b'"');
        r = if *q {
            match quoted_field_end(raw, r) {
                Some(e) => e,
                None => return false,
            }
        } else {
            r + ends[j] - if j == 0 { 0 } else { ends[j - 1] }
        };
    }
    true
}

/// The end of the quoted field starting at `raw[start]` (its opening quote): past the
/// closing quote (`""` is an escaped quote) and any bytes up to the next `,` or line end.
fn quoted_field_end(raw: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let q = i + raw[i..].iter().position(|&c| c == b'"')?;
        if raw.get(q + 1) == Some(&b'"') {
            i = q + 2;
        } else {
            i = q + 1;
            break;
        }
    }
    let rest = raw[i..]
        .iter()
        .position(|&c| matches!(c, b',' | b'\n' | b'\r'));
    Some(rest.map_or(raw.len(), |k| i + k))
}

/// A column as read: its values, and for a text column whose values are all numbers in
/// quotes, whether every value (`all`) or `some` were quoted.
pub(crate) type Typed = (ArrayRef, Option<&'static str>);

/// Join the parts column by column, each as numbers or as text by the reader's rules.
/// Parts that did not keep the text of a column that turns out to be text are read again.
fn join(bytes: &[u8], parts: Vec<Part>, ncols: usize) -> Option<Vec<Typed>> {
    let parts: Vec<Part> = parts.into_iter().filter(|p| p.rows > 0).collect();
    let quoted: Vec<bool> = (0..ncols)
        .map(|j| parts.iter().any(|p| p.columns[j].quoted))
        .collect();
    let all_quoted = quoted.iter().all(|&q| q);
    let looks_numeric: Vec<bool> = (0..ncols)
        .map(|j| parts.iter().all(|p| p.columns[j].numbers.is_some()))
        .collect();
    let numeric: Vec<bool> = (0..ncols)
        .map(|j| (!quoted[j] || all_quoted) && looks_numeric[j])
        .collect();
    let notes: Vec<Option<&'static str>> = (0..ncols)
        .map(|j| {
            let unquoted = parts.iter().any(|p| p.columns[j].unquoted);
            super::quoted_numbers_note(numeric[j], looks_numeric[j], unquoted)
        })
        .collect();
    let parts: Vec<Part> = parts
        .into_par_iter()
        .map(|p| {
            let lacks_text = |j: usize| !numeric[j] && p.columns[j].text.is_none();
            if (0..ncols).any(lacks_text) {
                parse_part(bytes, p.range.clone(), ncols, true)
            } else {
                p
            }
        })
        .collect();
    let mut pieces: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(parts.len()); ncols];
    for part in parts {
        for (j, c) in part.columns.into_iter().enumerate() {
            let array: ArrayRef = if numeric[j] {
                Arc::new(c.numbers?.finish())
            } else {
                Arc::new(c.text?.finish())
            };
            pieces[j].push(array);
        }
    }
    pieces
        .iter()
        .zip(notes)
        .map(|(p, note)| {
            let refs: Vec<&dyn Array> = p.iter().map(|a| a.as_ref()).collect();
            Some((arrow_select::concat::concat(&refs).ok()?, note))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::csv::{read_csv_chunked, read_csv_reference};
    use super::super::ReadError;
    use arrow_array::{Array, Float64Array, RecordBatch, StringArray};
    use arrow_schema::DataType;
    use proptest::prelude::*;
    use std::path::Path;

    fn chunked(text: &[u8], chunk: usize) -> Result<RecordBatch, ReadError> {
        read_csv_chunked(text, Path::new("t.csv"), Some(chunk))
    }

    fn reference(text: &[u8]) -> Result<RecordBatch, ReadError> {
        read_csv_reference(text, Path::new("t.csv"))
    }

    /// Same schema, nulls, text and number bits (NaN included).
    fn same_batch(a: &RecordBatch, b: &RecordBatch) -> Result<(), String> {
        if a.schema() != b.schema() {
            return Err(format!("schemas {:?} vs {:?}", a.schema(), b.schema()));
        }
        for (j, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
            let nulls = |c: &dyn Array| (0..c.len()).map(|i| c.is_null(i)).collect::<Vec<_>>();
            if nulls(x.as_ref()) != nulls(y.as_ref()) {
                return Err(format!("column {j}: nulls differ"));
            }
            let same = match x.data_type() {
                DataType::Float64 => {
                    let bits = |c: &dyn Array| {
                        let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
                        c.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()
                    };
                    bits(x.as_ref()) == bits(y.as_ref())
                }
                _ => {
                    let text = |c: &dyn Array| {
                        let c = c.as_any().downcast_ref::<StringArray>().unwrap();
                        c.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>()
                    };
                    text(x.as_ref()) == text(y.as_ref())
                }
            };
            if !same {
                return Err(format!("column {j}: values differ"));
            }
        }
        Ok(())
    }

    /// The chunked reader gives the reference's batch or error, for every chunk size.
    fn agrees(text: &[u8], chunk: usize) -> Result<(), String> {
        match (chunked(text, chunk), reference(text)) {
            (Ok(a), Ok(b)) => same_batch(&a, &b),
            (Err(a), Err(b)) if a.to_string() == b.to_string() => Ok(()),
            (a, b) => Err(format!("chunked {a:?}\nreference {b:?}")),
        }
        .map_err(|e| {
            format!(
                "{e}\ninput {:?} chunk {chunk}",
                String::from_utf8_lossy(text)
            )
        })
    }

    fn assert_agrees_all_chunks(text: &str) {
        for chunk in 1..=text.len() + 1 {
            agrees(text.as_bytes(), chunk).unwrap();
        }
    }

    fn f64s(b: &RecordBatch, j: usize) -> Vec<Option<f64>> {
        let c = b.column(j).as_any().downcast_ref::<Float64Array>();
        c.expect("a Float64 column").iter().collect()
    }

    fn texts(b: &RecordBatch, j: usize) -> Vec<Option<String>> {
        let c = b.column(j).as_any().downcast_ref::<StringArray>();
        let c = c.expect("a Utf8 column");
        c.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn cuts_next_to_quoted_fields_with_line_ends() {
        let text = "y,note,g\n1,\"a\nb\",\"g1\"\n2,\"\n\",\"g2\"\n3,\"x\n\ny\",\"g1\"\n4,\"\"\"\n\"\"\",\"g3\"\n";
        assert_agrees_all_chunks(text);
        for chunk in [1, 5, 9, 13, 40] {
            let b = chunked(text.as_bytes(), chunk).unwrap();
            assert_eq!(
                f64s(&b, 0),
                vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
            );
            let note = texts(&b, 1);
            assert_eq!(note[0].as_deref(), Some("a\nb"));
            assert_eq!(note[2].as_deref(), Some("x\n\ny"));
            assert_eq!(note[3].as_deref(), Some("\"\n\""));
            assert_eq!(texts(&b, 2)[3].as_deref(), Some("g3"));
        }
    }

    #[test]
    fn crlf_bom_and_blank_lines() {
        let text = "\u{feff}y,g\r\n1,\"a\"\r\n\r\n2,\"b\r\nc\"\r\n3,NA\r\n";
        assert_agrees_all_chunks(text);
        let b = chunked(text.as_bytes(), 3).unwrap();
        assert_eq!(b.schema().field(0).name(), "y");
        assert_eq!(f64s(&b, 0), vec![Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(
            texts(&b, 1),
            vec![Some("a".into()), Some("b\r\nc".into()), None]
        );
        // A byte-order mark at the start of a data row is data, as arrow-csv reads it.
        let text = "y,x\n1,2\n\u{feff}3,4\n";
        assert_agrees_all_chunks(text);
        let b = chunked(text.as_bytes(), 2).unwrap();
        assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8);
    }

    #[test]
    fn na_and_empty_fields_in_numeric_columns_are_null() {
        let text = "y,x\nNA,1\n2,\n,NA\n4,5\n";
        assert_agrees_all_chunks(text);
        let b = chunked(text.as_bytes(), 4).unwrap();
        assert_eq!(f64s(&b, 0), vec![None, Some(2.0), None, Some(4.0)]);
        assert_eq!(f64s(&b, 1), vec![Some(1.0), None, None, Some(5.0)]);
    }

    #[test]
    fn a_column_numeric_in_one_chunk_and_text_in_another_is_text() {
        let mut text = String::from("y,x\n");
        for i in 0..30 {
            text.push_str(&format!("{i},{i}.5\n"));
        }
        text.push_str("30,abc\n31,NA\n");
        assert_agrees_all_chunks(&text);
        let b = chunked(text.as_bytes(), 16).unwrap();
        let x = texts(&b, 1);
        assert_eq!(x[0].as_deref(), Some("0.5"));
        assert_eq!(x[30].as_deref(), Some("abc"));
        assert_eq!(x[31], None);
        assert_eq!(b.schema().field(0).data_type(), &DataType::Float64);
        // Quoted numbers make a column text (R's factors), in every chunk.
        let text = "y,g\n1,\"308\"\n2,309\n3,\"310\"\n4,NA\n";
        assert_agrees_all_chunks(text);
        let b = chunked(text.as_bytes(), 1).unwrap();
        assert_eq!(texts(&b, 1)[1].as_deref(), Some("309"));
    }

    #[test]
    fn ragged_row_in_a_later_chunk_names_its_line() {
        let mut text = String::from("a,b\n");
        for i in 0..20 {
            text.push_str(&format!("{i},\"x\ny\"\n"));
        }
        text.push_str("7\n8,9\n");
        assert_agrees_all_chunks(&text);
        match chunked(text.as_bytes(), 8).unwrap_err() {
            ReadError::Ragged { line, found, .. } => assert_eq!((line, found), (42, 1)),
            e => panic!("unexpected {e}"),
        }
        let text = "a,b\n1,2\n3,4,5\n";
        assert_agrees_all_chunks(text);
    }

    #[test]
    fn unclosed_quotes_empty_and_small_inputs() {
        for text in [
            "a,b\n1,\"x\n2,3\n",
            "a,b\n1,2\n3,\"4",
            "a,b\n1,2",
            "a,b\n1,\"2\"",
            "a,b\n1,\"2\"x",
            "a,b\n",
            "a,b",
            "a,b\n\n\r\n",
            "\"a\nb\",c\n1,2\n",
            "a,a\n1,2\n",
            "\u{feff}",
            "a\n\"\"\n",
            "y\n1\n",
        ] {
            assert_agrees_all_chunks(text);
        }
    }

    #[test]
    fn default_chunks_of_a_file_larger_than_one_chunk() {
        let mut text = String::from("g,x,note,y\n");
        for i in 0..120_000 {
            let note = if i % 997 == 0 { "\"two\nlines\"" } else { "" };
            let x = if i == 119_999 {
                "NA".to_owned()
            } else {
                format!("{}.25", i % 13)
            };
            text.push_str(&format!("\"g{}\",{x},{note},{}e-3\n", i % 50, i));
        }
        assert!(text.len() > 2 * super::MIN_CHUNK_BYTES);
        let b = read_csv_chunked(text.as_bytes(), Path::new("t.csv"), None).unwrap();
        same_batch(&b, &reference(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(b.num_rows(), 120_000);
        assert_eq!(f64s(&b, 1)[119_998], Some(8.25));
        assert_eq!(f64s(&b, 1)[119_999], None);
        assert_eq!(texts(&b, 2)[997].as_deref(), Some("two\nlines"));
        assert_eq!(f64s(&b, 3)[12_345], Some(12.345));
    }

    /// A field: numbers, missing values, words, quoted text with delimiters and line ends.
    fn field() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "1",
            "-2.5",
            "3e2",
            ".5",
            "1.",
            "+4",
            " 5",
            "Inf",
            "-Inf",
            "NaN",
            "inf",
            "NA",
            "",
            "a",
            "b c",
            "é",
            "\"q\"",
            "\"1\"",
            "\"\"",
            "\"a,b\"",
            "\"x\ny\"",
            "\"\r\n\"",
            "\"say \"\"hi\"\"\"",
            "\"a\"b",
            "x\"y",
            "\u{feff}1",
        ])
        .prop_map(str::to_owned)
    }

    /// Rows of mostly the header's width, with various line ends, blank lines and the odd
    /// broken row or unclosed quote.
    fn csv_text() -> impl Strategy<Value = String> {
        (1usize..4)
            .prop_flat_map(|ncols| {
                let row = prop::collection::vec(field(), ncols..=ncols);
                let rows = prop::collection::vec(
                    (
                        row,
                        prop::sample::select(vec!["\n", "\r\n", "\r", "\n\n"]),
                        0u8..40,
                    ),
                    0..12,
                );
                (Just(ncols), rows, any::<bool>(), any::<bool>())
            })
            .prop_map(|(ncols, rows, bom, last_newline)| {
                let mut s = String::from(if bom { "\u{feff}" } else { "" });
                let names: Vec<String> = (0..ncols).map(|j| format!("c{j}")).collect();
                s.push_str(&names.join(","));
                s.push('\n');
                for (mut fields, end, odd) in rows {
                    match odd {
                        0 => fields.push("1".into()),
                        1 => {
                            fields.pop();
                        }
                        2 => fields[0] = "\"open".into(),
                        _ => {}
                    }
                    s.push_str(&fields.join(","));
                    s.push_str(end);
                }
                if !last_newline {
                    s = s.trim_end_matches(['\n', '\r']).to_owned();
                }
                s
            })
    }

    /// `parse_number` without the shortcut that skips trimming clean fields.
    fn parse_number_trimming(s: &str) -> Option<f64> {
        let t = s.trim();
        let body = t.strip_prefix(['-', '+']).unwrap_or(t);
        match body.bytes().next() {
            Some(c) if c.is_ascii_digit() || c == b'.' => t.parse::<f64>().ok(),
            Some(b'i' | b'I' | b'n' | b'N') => t.parse::<f64>().ok(),
            _ => None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn parse_number_trims_as_before(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "1", "2.5", "-", "+", ".", "e", "E5", "x", " ", "\t", "\n", "\r",
                    "\u{a0}", "\u{3000}", "\u{2028}", "é", "Inf", "NaN", "inf", "_", "nan",
                    "Infinity", "iNf", "n",
                ]),
                0..6,
            ),
        ) {
            let s = parts.concat();
            let (new, old) = (super::super::parse_number(&s), parse_number_trimming(&s));
            prop_assert_eq!(new.map(f64::to_bits), old.map(f64::to_bits), "{:?}", s);
        }

        #[test]
        fn chunked_reader_matches_the_sequential_reader(text in csv_text(), chunk in 1usize..48) {
            prop_assert!(agrees(text.as_bytes(), chunk).is_ok(), "{}", agrees(text.as_bytes(), chunk).unwrap_err());
        }

        #[test]
        fn chunked_reader_matches_on_token_soup(
            tokens in prop::collection::vec(
                prop::sample::select(vec!["a", "1", "2.5", ",", "\"", "\n", "\r", " ", "NA", "\"\"", "\r\n"]),
                0..60,
            ),
            chunk in 1usize..24,
        ) {
            let text = format!("x,y\n{}", tokens.concat());
            prop_assert!(agrees(text.as_bytes(), chunk).is_ok(), "{}", agrees(text.as_bytes(), chunk).unwrap_err());
        }
    }
}

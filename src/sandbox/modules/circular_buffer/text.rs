//! The circular buffer as text: the `cbuf`/`cbufd` payloads, the
//! `fromstring` state format and the preservation script.
//!
//! The state string is `<current_time> <newest_row> <rows*columns cells in
//! ring order> [<row_time> <column deltas>]...`, times in epoch seconds —
//! the layout Heka's `circular_buffer` wrote, so its preserved data loads
//! here — with cells written exactly (`nan`, `inf`, shortest round-trip
//! decimals) instead of Heka's 8 decimal places.

use std::fmt::Write;

use super::cells::{CbufError, Cells, Format, Header};
use crate::sandbox::modules::luatext::{fmt_cell, fmt_exact, lua_quote, parse_number};

impl Cells {
    fn write_header(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"time\":{},\"rows\":{},\"columns\":{},\"seconds_per_row\":{},\"column_info\":[",
            self.start_time(),
            self.rows,
            self.columns,
            self.seconds_per_row
        );
        for (i, h) in self.headers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Sanitised names and units need no JSON escaping.
            let _ = write!(
                out,
                "{{\"name\":\"{}\",\"unit\":\"{}\",\"aggregation\":\"{}\"}}",
                h.name,
                h.unit,
                h.aggregation.name()
            );
        }
        out.push_str("]}\n");
    }

    /// Ring indexes from the oldest row to the newest.
    fn rows_oldest_first(&self) -> impl Iterator<Item = usize> + '_ {
        (1..=self.rows).map(move |k| (self.newest + k) % self.rows)
    }

    /// Appends the output in the selected format (`add_to_payload(cb)`,
    /// `inject_payload("cbuf", name, cb)`, a field value in
    /// `inject_message`).
    ///
    /// `cbuf`: the JSON header line, then every row oldest first, cells
    /// tab-separated, `nan` when empty. `cbufd`: the header, then each row
    /// changed since the last `cbufd` output as `<epoch seconds>\t<deltas>`;
    /// writing it resets the change tracking, and nothing at all is written
    /// when deltas are disabled or nothing changed.
    pub fn write_output(&mut self, out: &mut Vec<u8>) {
        let mut text = String::new();
        match self.format {
            Format::Cbuf => {
                self.write_header(&mut text);
                for row in self.rows_oldest_first() {
                    for c in 0..self.columns {
                        if c > 0 {
                            text.push('\t');
                        }
                        fmt_cell(self.values[row * self.columns + c], &mut text);
                    }
                    text.push('\n');
                }
            }
            Format::Cbufd => {
                let mut body = String::new();
                self.take_deltas(&mut body, '\t', '\n', fmt_cell);
                if !body.is_empty() {
                    self.write_header(&mut text);
                    text.push_str(&body);
                }
            }
        }
        out.extend_from_slice(text.as_bytes());
    }

    /// Writes the changed rows (`time sep d1 sep d2 ... eol`) and clears the
    /// change tracking.
    fn take_deltas(&mut self, out: &mut String, sep: char, eol: char, fmt: fn(f64, &mut String)) {
        self.write_deltas(out, sep, eol, fmt);
        if let Some(d) = self.deltas.as_mut() {
            d.fill(f64::NAN);
        }
    }

    fn write_deltas(&self, out: &mut String, sep: char, eol: char, fmt: fn(f64, &mut String)) {
        let Some(deltas) = self.deltas.as_ref() else {
            return;
        };
        for (k, row) in self.rows_oldest_first().enumerate() {
            let cells = &deltas[row * self.columns..(row + 1) * self.columns];
            if cells.iter().all(|d| d.is_nan()) {
                continue;
            }
            let _ = write!(out, "{}", self.start_time() + k as i64 * self.seconds_per_row);
            for &d in cells {
                out.push(sep);
                fmt(d, out);
            }
            out.push(eol);
        }
    }

    /// The state string read by [`Cells::fromstring`].
    pub fn state_string(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "{} {}", self.current_time, self.newest);
        for &v in &self.values {
            s.push(' ');
            fmt_exact(v, &mut s);
        }
        let mut deltas = String::new();
        self.write_deltas(&mut deltas, ' ', ' ', fmt_exact);
        if !deltas.is_empty() {
            s.push(' ');
            s.push_str(deltas.trim_end());
        }
        s
    }

    /// Restores the time, cells and change tracking from a state string.
    pub fn fromstring(&mut self, text: &[u8]) -> Result<(), CbufError> {
        let text = String::from_utf8_lossy(text);
        let mut tokens = text.split_ascii_whitespace();
        let time: i64 =
            tokens.next().and_then(|t| t.parse().ok()).ok_or(CbufError::InvalidTimeRow)?;
        let newest: usize =
            tokens.next().and_then(|t| t.parse().ok()).ok_or(CbufError::InvalidTimeRow)?;
        // Times must be nanosecond-representable, as those of the Lua API are.
        let max_seconds = i64::MAX / 1_000_000_000;
        if newest >= self.rows || time.unsigned_abs() > max_seconds.unsigned_abs() {
            return Err(CbufError::InvalidTimeRow);
        }
        let number =
            |t: &str| parse_number(t).ok_or_else(|| CbufError::InvalidValue(t.to_string()));
        let expected = self.values.len();
        let mut values = Vec::with_capacity(expected);
        for t in tokens.by_ref().take(expected) {
            values.push(number(t)?);
        }
        if values.len() < expected {
            return Err(CbufError::TooFewValues { got: values.len(), expected });
        }
        let rest: Vec<f64> = tokens.map(number).collect::<Result<_, _>>()?;
        if !rest.len().is_multiple_of(self.columns + 1) {
            return Err(CbufError::InvalidDelta);
        }
        self.current_time = time - time.rem_euclid(self.seconds_per_row);
        self.newest = newest;
        self.values = values;
        let columns = self.columns;
        let rows: Vec<(Option<usize>, &[f64])> = rest
            .chunks(columns + 1)
            .map(|chunk| {
                let row = (chunk[0].abs() <= max_seconds as f64).then(|| {
                    let t = chunk[0] as i64;
                    t - t.rem_euclid(self.seconds_per_row)
                });
                (row.and_then(|t| self.row_of(t)), &chunk[1..])
            })
            .collect();
        if let Some(d) = self.deltas.as_mut() {
            d.fill(f64::NAN);
            for (row, cells) in rows {
                if let Some(row) = row {
                    d[row * columns..(row + 1) * columns].copy_from_slice(cells);
                }
            }
        }
        Ok(())
    }

    /// Appends Lua that recreates this buffer in place at `qualified_name`
    /// (e.g. `_G["stats"]`) when run with `circular_buffer` loaded as a
    /// global, in the style of Heka's preserved data.
    pub fn preservation_script(&self, qualified_name: &str, out: &mut String) {
        let q = qualified_name;
        let delta = if self.deltas.is_some() { ", true" } else { "" };
        let _ = writeln!(
            out,
            "if {q} == nil then {q} = circular_buffer.new({}, {}, {}{delta}) end",
            self.rows, self.columns, self.seconds_per_row
        );
        for (i, Header { name, unit, aggregation }) in self.headers.iter().enumerate() {
            let _ = write!(out, "{q}:set_header({}, ", i + 1);
            lua_quote(name.as_bytes(), out);
            out.push_str(", ");
            lua_quote(unit.as_bytes(), out);
            let _ = writeln!(out, ", \"{}\")", aggregation.name());
        }
        if self.format == Format::Cbufd {
            let _ = writeln!(out, "{q}:format(\"cbufd\")");
        }
        let _ = write!(out, "{q}:fromstring(");
        lua_quote(self.state_string().as_bytes(), out);
        out.push_str(")\n");
    }
}

//! The circular buffer's data: a ring of `rows` time rows by `columns`
//! doubles, each row covering `seconds_per_row` seconds, the newest row
//! last. Writing a time newer than the newest row advances the ring,
//! clearing the rows it passes to NaN; times older than the window are
//! ignored. With deltas enabled, a parallel ring records what changed
//! since the last `cbufd` output.

use std::fmt;

/// How a column combines across buffers (and what its delta means).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Sum,
    Min,
    Max,
    Avg,
    None,
}

impl Aggregation {
    /// All methods, in `set_header`'s option order.
    pub const ALL: [Aggregation; 5] =
        [Aggregation::Sum, Aggregation::Min, Aggregation::Max, Aggregation::Avg, Aggregation::None];

    /// The name used in headers and scripts.
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Avg => "avg",
            Aggregation::None => "none",
        }
    }
}

/// A column's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub unit: String,
    pub aggregation: Aggregation,
}

impl Header {
    /// `name` cut to 15 bytes (at a NUL too), non-alphanumerics as `_`;
    /// `unit` cut to 7 bytes, keeping alphanumerics, `/` and `*`.
    pub fn sanitized(name: &[u8], unit: &[u8], aggregation: Aggregation) -> Header {
        let clean = |s: &[u8], max: usize, keep: &dyn Fn(u8) -> bool| -> String {
            s.iter()
                .take_while(|&&b| b != 0)
                .take(max)
                .map(|&b| if keep(b) { char::from(b) } else { '_' })
                .collect()
        };
        Header {
            name: clean(name, 15, &|b| b.is_ascii_alphanumeric()),
            unit: clean(unit, 7, &|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'*'),
            aggregation,
        }
    }
}

/// The selected text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cbuf,
    Cbufd,
}

/// Operation errors, with Heka's texts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CbufError {
    #[error("cannot uninitialize a value")]
    Uninitialize,
    #[error("add produced a NAN")]
    AddNan,
    #[error("fromstring() too few values: {got}, expected {expected}")]
    TooFewValues { got: usize, expected: usize },
    #[error("fromstring() invalid delta")]
    InvalidDelta,
    #[error("fromstring() invalid value '{0}'")]
    InvalidValue(String),
    #[error("fromstring() invalid time or row")]
    InvalidTimeRow,
}

impl From<CbufError> for mlua::Error {
    fn from(e: CbufError) -> Self {
        mlua::Error::runtime(e.to_string())
    }
}

const NS_PER_SEC: i64 = 1_000_000_000;

/// A circular buffer's data (the `circular_buffer` userdata,
/// [`CircularBuffer`](super::CircularBuffer), holds it). Scripts change it
/// through the userdata's Lua methods, which check columns and arguments;
/// the host reads it with `write_output`, `preservation_script` and
/// `state_string`.
pub struct Cells {
    pub(super) rows: usize,
    pub(super) columns: usize,
    pub(super) seconds_per_row: i64,
    /// Start (epoch seconds) of the newest row.
    pub(super) current_time: i64,
    /// Ring index of the newest row.
    pub(super) newest: usize,
    /// `rows * columns` cells, ring row-major.
    pub(super) values: Vec<f64>,
    /// Changes since the last delta output, laid out like `values`
    /// (NaN = unchanged); `None` when deltas are disabled.
    pub(super) deltas: Option<Vec<f64>>,
    pub(super) headers: Vec<Header>,
    pub(super) format: Format,
}

impl fmt::Debug for Cells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cells")
            .field("rows", &self.rows)
            .field("columns", &self.columns)
            .field("seconds_per_row", &self.seconds_per_row)
            .field("current_time", &self.current_time)
            .finish_non_exhaustive()
    }
}

/// A vector of `n` NaNs, or `None` if it cannot be allocated.
pub(super) fn nan_vec(n: usize) -> Option<Vec<f64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, f64::NAN);
    Some(v)
}

impl Cells {
    /// An empty buffer whose newest row starts at `(rows - 1) *
    /// seconds_per_row`, so that the first row is at time 0. Arguments are
    /// checked by the caller (rows > 1, columns > 0, seconds_per_row > 0);
    /// `None` if the cells cannot be allocated.
    pub(super) fn new(
        rows: usize,
        columns: usize,
        seconds_per_row: i64,
        enable_delta: bool,
    ) -> Option<Self> {
        let cells = rows.checked_mul(columns)?;
        let values = nan_vec(cells)?;
        let deltas = if enable_delta { Some(nan_vec(cells)?) } else { None };
        let headers = (1..=columns)
            .map(|c| Header {
                name: format!("Column_{c}"),
                unit: "count".into(),
                aggregation: Aggregation::Sum,
            })
            .collect();
        Some(Cells {
            rows,
            columns,
            seconds_per_row,
            current_time: seconds_per_row.saturating_mul(rows as i64 - 1),
            newest: rows - 1,
            values,
            deltas,
            headers,
            format: Format::Cbuf,
        })
    }

    /// `(rows, columns, seconds_per_row)`.
    pub fn configuration(&self) -> (usize, usize, i64) {
        (self.rows, self.columns, self.seconds_per_row)
    }

    /// The header of 0-based `column`.
    pub(super) fn header(&self, column: usize) -> &Header {
        &self.headers[column]
    }

    /// Replaces the header of 0-based `column`.
    pub(super) fn set_header(&mut self, column: usize, header: Header) {
        self.headers[column] = header;
    }

    /// Start of the newest row, in nanoseconds.
    pub fn current_time_ns(&self) -> i64 {
        self.current_time.saturating_mul(NS_PER_SEC)
    }

    /// Start (seconds) of the oldest row.
    pub fn start_time(&self) -> i64 {
        self.current_time - self.seconds_per_row * (self.rows as i64 - 1)
    }

    /// The start (seconds) of the row holding nanosecond time `ns`.
    pub fn row_time(&self, ns: i64) -> i64 {
        let t = ns.div_euclid(NS_PER_SEC);
        t - t.rem_euclid(self.seconds_per_row)
    }

    /// Ring index of the row starting at `t`, if it is in the window.
    pub(super) fn row_of(&self, t: i64) -> Option<usize> {
        if t >= self.current_time {
            // The newest row (the usual case) needs no division.
            return (t == self.current_time).then_some(self.newest);
        }
        let back = (self.current_time - t) / self.seconds_per_row;
        if back >= self.rows as i64 {
            return None;
        }
        Some((self.newest + self.rows - back as usize) % self.rows)
    }

    /// Moves the newest row forward to `t`, clearing the rows passed.
    fn advance(&mut self, t: i64) {
        if t <= self.current_time {
            return;
        }
        let n = (t - self.current_time) / self.seconds_per_row;
        let clear = n.min(self.rows as i64) as usize;
        for k in 1..=clear {
            let row = (self.newest + k) % self.rows;
            let cells = row * self.columns..(row + 1) * self.columns;
            self.values[cells.clone()].fill(f64::NAN);
            if let Some(d) = self.deltas.as_mut() {
                d[cells].fill(f64::NAN);
            }
        }
        self.newest = (self.newest + (n % self.rows as i64) as usize) % self.rows;
        self.current_time = t;
    }

    /// Cell index for `ns`/`column`, advancing the buffer if `ns` is newer.
    fn cell_for_write(&mut self, ns: i64, column: usize) -> Option<usize> {
        let t = self.row_time(ns);
        self.advance(t);
        self.row_of(t).map(|row| row * self.columns + column)
    }

    fn record_delta(&mut self, i: usize, change: f64, current: f64) {
        let aggregation = self.headers[i % self.columns].aggregation;
        if let Some(d) = self.deltas.as_mut() {
            match aggregation {
                Aggregation::Sum => d[i] = if d[i].is_nan() { change } else { d[i] + change },
                Aggregation::Min | Aggregation::Max | Aggregation::Avg => d[i] = current,
                Aggregation::None => {}
            }
        }
    }

    /// Adds `value` to the cell; the new value, or `None` outside the window.
    pub(super) fn add(
        &mut self,
        ns: i64,
        column: usize,
        value: f64,
    ) -> Result<Option<f64>, CbufError> {
        let Some(i) = self.cell_for_write(ns, column) else {
            return Ok(None);
        };
        let old = self.values[i];
        let new = if old.is_nan() {
            value
        } else if value.is_nan() {
            return Err(CbufError::Uninitialize);
        } else {
            old + value
        };
        if new.is_nan() && !old.is_nan() {
            return Err(CbufError::AddNan);
        }
        self.values[i] = new;
        if old != new && !(old.is_nan() && new.is_nan()) {
            self.record_delta(i, value, new);
        }
        Ok(Some(new))
    }

    /// Sets the cell (for `min`/`max` columns only if smaller/larger); the
    /// resulting value, or `None` outside the window.
    pub(super) fn set(
        &mut self,
        ns: i64,
        column: usize,
        value: f64,
    ) -> Result<Option<f64>, CbufError> {
        let Some(i) = self.cell_for_write(ns, column) else {
            return Ok(None);
        };
        let old = self.values[i];
        if value.is_nan() && !old.is_nan() {
            return Err(CbufError::Uninitialize);
        }
        let replace = match self.headers[column].aggregation {
            Aggregation::Min => old.is_nan() || value < old,
            Aggregation::Max => old.is_nan() || value > old,
            _ => true,
        };
        if replace {
            self.values[i] = value;
            let change = if old.is_finite() { value - old } else { value };
            if !(old.is_finite() && change == 0.0) {
                self.record_delta(i, change, value);
            }
        }
        Ok(Some(self.values[i]))
    }

    /// The cell's value, or `None` outside the window (never advances).
    pub(super) fn get(&self, ns: i64, column: usize) -> Option<f64> {
        let row = self.row_of(self.row_time(ns))?;
        Some(self.values[row * self.columns + column])
    }

    /// The column's values from the row holding `start_ns` to the row
    /// holding `end_ns` (inclusive; defaults: the whole window), or `None`
    /// if either end is outside the window.
    pub(super) fn range(
        &self,
        column: usize,
        start_ns: Option<i64>,
        end_ns: Option<i64>,
    ) -> Option<Vec<f64>> {
        let start = start_ns.map_or(self.start_time(), |ns| self.row_time(ns));
        let end = end_ns.map_or(self.current_time, |ns| self.row_time(ns));
        let first = self.row_of(start)?;
        self.row_of(end)?;
        let n = ((end - start) / self.seconds_per_row + 1).max(0) as usize;
        Some(
            (0..n)
                .map(|k| self.values[((first + k) % self.rows) * self.columns + column])
                .collect(),
        )
    }
}

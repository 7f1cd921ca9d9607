//! Turning `file_match` group values into sort integers for `priority`:
//! digits, the built-in `MonthName`/`DayName` tables, custom translation
//! maps, and the "missing optional group" rule.

use std::collections::HashMap;

use regex::Captures;

use super::config::{LogstreamerSettings, MISSING_KEY};

/// Sort value of a group that did not take part in the match, unless its
/// translation map has a `missing` entry.
pub const MISSING_VALUE: i64 = -1;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const DAYS: [&str; 7] =
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/// Built-in tables: `MonthName` gives January = 1 … December = 12 and
/// `DayName` gives Sunday = 0 … Saturday = 6; full English names or their
/// first three letters, any case (`lower` is already lowercase).
fn builtin(group: &str, lower: &str) -> Option<i64> {
    let table: &[&str] = match group {
        "MonthName" => &MONTHS,
        "DayName" => &DAYS,
        _ => return None,
    };
    let base = if group == "MonthName" { 1 } else { 0 };
    table
        .iter()
        .position(|name| *name == lower || (lower.len() == 3 && name.starts_with(lower)))
        .map(|i| i as i64 + base)
}

/// The sort integer of one group value. Lookup order: the custom map
/// (value lowercased), the built-in table for the group's name, then the
/// value as a decimal integer. An absent or empty value is "missing".
pub fn sort_value(
    group: &str,
    value: Option<&str>,
    translation: &HashMap<String, HashMap<String, i64>>,
) -> Result<i64, String> {
    let map = translation.get(group);
    let value = match value {
        Some(v) if !v.is_empty() => v,
        _ => return Ok(map.and_then(|m| m.get(MISSING_KEY)).copied().unwrap_or(MISSING_VALUE)),
    };
    let lower = value.to_lowercase();
    if let Some(n) = map.and_then(|m| m.get(&lower)) {
        return Ok(*n);
    }
    if let Some(n) = builtin(group, &lower) {
        return Ok(n);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<i64>().map_err(|_| format!("{group} value {value:?} is too large"));
    }
    Err(format!("{group} value {value:?} is not a number and has no translation"))
}

/// A file's position in its stream's order: one integer per `priority`
/// entry, already negated for descending (`^`) entries so that plain
/// ascending comparison yields oldest → newest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey(Vec<i128>);

impl SortKey {
    /// Builds the key from one match of `file_match`.
    pub fn from_captures(
        caps: &Captures<'_>,
        settings: &LogstreamerSettings,
    ) -> Result<Self, String> {
        let mut parts = Vec::with_capacity(settings.priority.len());
        for key in &settings.priority {
            let value = caps.name(&key.group).map(|m| m.as_str());
            let n = i128::from(sort_value(&key.group, value, &settings.translation)?);
            parts.push(if key.descending { -n } else { n });
        }
        Ok(SortKey(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_maps() -> HashMap<String, HashMap<String, i64>> {
        HashMap::new()
    }

    #[test]
    fn digits_parse_and_missing_is_minus_one() {
        assert_eq!(sort_value("Seq", Some("0042"), &no_maps()), Ok(42));
        assert_eq!(sort_value("Seq", None, &no_maps()), Ok(-1));
        assert_eq!(sort_value("Seq", Some(""), &no_maps()), Ok(-1));
        assert!(sort_value("Seq", Some("99999999999999999999"), &no_maps()).is_err());
        let err = sort_value("Seq", Some("x1"), &no_maps()).expect_err("not a number");
        assert!(err.contains("no translation"), "{err}");
    }

    #[test]
    fn month_and_day_names_full_or_short_any_case() {
        assert_eq!(sort_value("MonthName", Some("January"), &no_maps()), Ok(1));
        assert_eq!(sort_value("MonthName", Some("dec"), &no_maps()), Ok(12));
        assert_eq!(sort_value("MonthName", Some("SEP"), &no_maps()), Ok(9));
        assert_eq!(sort_value("DayName", Some("sun"), &no_maps()), Ok(0));
        assert_eq!(sort_value("DayName", Some("Saturday"), &no_maps()), Ok(6));
        assert!(sort_value("MonthName", Some("ja"), &no_maps()).is_err());
        assert!(sort_value("MonthName", Some("janu"), &no_maps()).is_err());
        // Only groups with those exact names get the tables.
        assert!(sort_value("Month", Some("jan"), &no_maps()).is_err());
    }

    #[test]
    fn custom_maps_are_looked_up_lowercase_and_win() {
        let mut maps = no_maps();
        maps.insert(
            "Env".to_owned(),
            HashMap::from([("prod".to_owned(), 5), ("missing".to_owned(), 100)]),
        );
        maps.insert("MonthName".to_owned(), HashMap::from([("jan".to_owned(), 13)]));
        assert_eq!(sort_value("Env", Some("PROD"), &maps), Ok(5));
        assert_eq!(sort_value("Env", None, &maps), Ok(100));
        assert_eq!(sort_value("Env", Some("7"), &maps), Ok(7), "digits still work");
        assert_eq!(sort_value("MonthName", Some("Jan"), &maps), Ok(13));
        assert_eq!(sort_value("MonthName", Some("feb"), &maps), Ok(2));
    }
}

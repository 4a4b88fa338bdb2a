//! Which keys kovan.toml may hold, checked over the whole file before its values are: every
//! unknown key (with the known one it resembles) and every missing required key is a problem of
//! the same run, and the values are still validated. (Serde alone stops at the first of either.)
//!
//! The keys a table may hold are read from the serde structs in `raw` themselves, so a field added
//! there is known here at once; only the required keys and the nesting are written out below.

use std::ops::Range;

use serde::de::{self, Deserialize, DeserializeOwned, Visitor};
use toml_edit::{ImDocument, Item, TableLike};

use super::error::Problem;
use super::raw::{
    RawCacheAlias, RawDatabase, RawFile, RawInstance, RawPreset, RawProcess, RawProject, RawRedis,
    RawSite, RawSupervisor, RawUndo,
};
use super::toml_error::{line_at, plain_types};

/// What a table in kovan.toml is, and what its keys hold.
struct Table {
    /// The serde field names of its struct.
    fields: &'static [&'static str],
    required: &'static [&'static str],
    /// The shape of a key's value when it is itself a table (or tables).
    child: fn(&str) -> Option<Nested>,
    /// What is wrong with the type of one key's value, read alone by the struct's serde code.
    value: fn(&str, &Item) -> Option<String>,
}

enum Nested {
    One(Table),
    /// `[[instance]]`: an array of tables.
    Array(Table),
    /// `[preset.NAME]`: a table of tables, each named by the user.
    Named(Table),
}

fn file() -> Table {
    Table {
        fields: fields::<RawFile>(),
        required: &["project"],
        value: value_error::<RawFile>,
        child: |key| {
            Some(match key {
                "project" => Nested::One(leaf::<RawProject>(&["name", "settings"])),
                "redis" => Nested::One(leaf::<RawRedis>(&["url"])),
                "database" => Nested::One(leaf::<RawDatabase>(&["engine"])),
                "supervisor" => Nested::One(leaf::<RawSupervisor>(&[])),
                "undo" => Nested::One(leaf::<RawUndo>(&[])),
                "caches" => Nested::Named(leaf::<RawCacheAlias>(&["backend"])),
                "instance" => Nested::Array(Table {
                    child: |key| {
                        (key == "caches")
                            .then(|| Nested::Named(leaf::<RawCacheAlias>(&["backend"])))
                    },
                    ..leaf::<RawInstance>(&["name", "port"])
                }),
                "process" => Nested::Array(leaf::<RawProcess>(&["name", "command"])),
                "preset" => Nested::Named(leaf::<RawPreset>(&["instances"])),
                "site" => Nested::Named(leaf::<RawSite>(&["instances", "front_door"])),
                _ => return None,
            })
        },
    }
}

fn leaf<T: DeserializeOwned>(required: &'static [&'static str]) -> Table {
    Table {
        fields: fields::<T>(),
        required,
        child: |_| None,
        value: value_error::<T>,
    }
}

/// The type error of `key = item` read alone into `T` (its other keys are optional or default
/// there), so that every wrong type in the file is said in one run, not only serde's first.
fn value_error<T: DeserializeOwned>(key: &str, item: &Item) -> Option<String> {
    let mut alone = toml_edit::DocumentMut::new();
    alone.insert(key, item.clone());
    let e = toml::from_str::<T>(&alone.to_string()).err()?;
    let message = plain_types(e.message().trim());
    // Only the value's own type: a missing key or an unknown one is the shape check's to say.
    (!message.starts_with("missing field") && !message.starts_with("unknown field"))
        .then(|| format!("{message}."))
}

/// What the shape check found, and the fields whose value problems it already covers (a missing
/// `port` is one problem, not also "port 0 is out of range").
pub(super) struct Shape {
    pub(super) problems: Vec<Problem>,
    pub(super) covered: Vec<String>,
}

impl Shape {
    /// Whether a validation problem is about a field this check already reported.
    pub(super) fn covers(&self, field: &str) -> bool {
        self.covered.iter().any(|c| {
            field == c
                || field
                    .strip_prefix(c.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// Check the keys of `source`, which is valid TOML (the caller parsed it).
pub(super) fn check(source: &str) -> Shape {
    let mut shape = Shape {
        problems: Vec::new(),
        covered: Vec::new(),
    };
    let Ok(doc) = ImDocument::parse(source) else {
        return shape;
    };
    let mut walk = Walk {
        source,
        shape: &mut shape,
    };
    walk.table(&file(), doc.as_table(), &[String::new()], None);
    shape
}

struct Walk<'a> {
    source: &'a str,
    shape: &'a mut Shape,
}

impl Walk<'_> {
    fn line(&self, span: Option<Range<usize>>) -> Option<u32> {
        span.map(|s| line_at(self.source, s.start))
    }

    /// `paths`: how problems name this table (`instance[2]`), then how the validator may name
    /// it too (`instance.chat_api`), so that a value problem already covered here is not repeated.
    fn table(
        &mut self,
        shape: &Table,
        table: &dyn TableLike,
        paths: &[String],
        header: Option<u32>,
    ) {
        let path = paths[0].as_str();
        let join_to = |path: &str, key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        let join = |key: &str| join_to(path, key);
        for (key, item) in table.iter() {
            let line = self.line(table.get_key_value(key).and_then(|(k, _)| k.span()));
            if !shape.fields.contains(&key) {
                let field = join(key);
                self.shape.problems.push(Problem {
                    field: field.clone(),
                    line,
                    message: format!(
                        "unknown field `{key}`, expected one of {}{}.",
                        shape
                            .fields
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        resembling(key, shape.fields)
                            .map(|f| format!(" (did you mean `{f}`?)"))
                            .unwrap_or_default()
                    ),
                    fix: "Remove the key or correct its spelling; the keys allowed here are listed above.".into(),
                });
                self.shape.covered.push(field);
                continue;
            }
            let nested = (shape.child)(key);
            let expected_kind = match &nested {
                None => false,
                Some(Nested::Array(_)) => !tables_of(item).is_empty() || item.is_array_of_tables(),
                Some(_) => item.as_table_like().is_some(),
            };
            // A plain value, or a table key holding something else (`instance = 3`).
            if !expected_kind {
                if let Some(message) = (shape.value)(key, item) {
                    let field = join(key);
                    self.shape.problems.push(Problem {
                        field: field.clone(),
                        line,
                        message,
                        fix: "Give the value the type named above: numbers without quotes, text in quotes.".into(),
                    });
                    self.shape.covered.push(field);
                }
            }
            let Some(nested) = nested else {
                continue;
            };
            match nested {
                Nested::One(child) => {
                    if let Some(t) = item.as_table_like() {
                        let header = self.line(table_span(item)).or(line);
                        self.table(&child, t, &[join(key)], header);
                    }
                }
                Nested::Array(child) => {
                    for (n, t) in tables_of(item).into_iter().enumerate() {
                        let header = self.line(t.1).or(line);
                        let mut paths = vec![format!("{}[{}]", join(key), n + 1)];
                        if let Some(name) = t.0.get("name").and_then(|v| v.as_str()) {
                            paths.push(format!("{}.{name}", join(key)));
                        }
                        self.table(&child, t.0, &paths, header);
                    }
                }
                Nested::Named(child) => {
                    if let Some(named) = item.as_table_like() {
                        for (name, each) in named.iter() {
                            if let Some(t) = each.as_table_like() {
                                let header = self.line(table_span(each)).or(line);
                                let path = format!("{}.{name}", join(key));
                                self.table(&child, t, &[path], header);
                            }
                        }
                    }
                }
            }
        }
        for required in shape.required {
            if table.get(required).is_none() {
                let (field, message) = if path.is_empty() {
                    (
                        required.to_string(),
                        format!("there is no `[{required}]` table; it is required."),
                    )
                } else {
                    (path.to_string(), format!("missing field `{required}`."))
                };
                self.shape.problems.push(Problem {
                    field,
                    line: header,
                    message,
                    fix: if path.is_empty() {
                        format!("Add a `[{required}]` table.")
                    } else {
                        "Add the missing key.".into()
                    },
                });
                for p in paths {
                    self.shape.covered.push(join_to(p, required));
                }
            }
        }
    }
}

fn table_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        Item::Value(v) => v.span(),
        _ => None,
    }
}

/// `[[instance]]` tables, or an inline `instance = [{ … }, …]` array, with their spans.
fn tables_of(item: &Item) -> Vec<(&dyn TableLike, Option<Range<usize>>)> {
    if let Some(tables) = item.as_array_of_tables() {
        return tables
            .iter()
            .map(|t| (t as &dyn TableLike, t.span()))
            .collect();
    }
    item.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_inline_table().map(|t| (t as &dyn TableLike, v.span())))
                .collect()
        })
        .unwrap_or_default()
}

/// The known key a typo most resembles: at most two edits away, and closer than the rest.
fn resembling(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The field names serde knows for struct `T`: a deserializer that only listens to what the
/// derived code tells it, then stops.
fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Listen(Option<&'static [&'static str]>);

    impl<'de> de::Deserializer<'de> for &mut Listen {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only structs are listened to"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("heard the fields"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut listen = Listen(None);
    let _ = T::deserialize(&mut listen);
    listen.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_keys_come_from_the_serde_structs() {
        assert!(fields::<RawInstance>().contains(&"cache_timeout"));
        assert!(fields::<RawFile>().contains(&"instance"));
        // Every table in the file has its shape here: none is left unchecked.
        let top = file();
        for key in top.fields {
            let nested = (top.child)(key);
            assert!(nested.is_some(), "`{key}` has no shape in shape.rs");
        }
    }

    #[test]
    fn typos_resemble_their_key() {
        assert_eq!(resembling("prot", &["name", "port"]), Some("port"));
        assert_eq!(
            resembling("settigns", &["name", "settings"]),
            Some("settings")
        );
        assert_eq!(resembling("colour", &["url", "managed"]), None);
    }
}

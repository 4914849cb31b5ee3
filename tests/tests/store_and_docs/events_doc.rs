//! docs/events.md against the code's types: every event type has its section, in the order of
//! `EventType::ALL`, with one example that is an `Event` of that type and version, and the
//! field table names exactly the fields an event has.

use admit_shared::domain::event::{Event, EventType, SCHEMA_VERSION};
use serde_json::Value;

fn doc() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join("docs/events.md")).expect("docs/events.md")
}

#[test]
fn every_event_type_has_its_section_and_a_valid_example() {
    let doc = doc();
    let mut at = 0;
    for t in EventType::ALL {
        let heading = format!("\n### `{}`\n", t.name());
        let start = doc[at..].find(&heading).map(|i| at + i).unwrap_or_else(|| {
            panic!("docs/events.md has no section {heading:?} after the one before")
        });
        let section = &doc[start + heading.len()..];
        let section = &section[..section
            .find("\n### ")
            .or_else(|| section.find("\n## "))
            .unwrap_or(section.len())];
        let example = section
            .split("```json\n")
            .nth(1)
            .and_then(|s| s.split("\n```").next())
            .unwrap_or_else(|| panic!("{}: no example", t.name()));
        let event: Event = serde_json::from_str(example)
            .unwrap_or_else(|e| panic!("{}: the example is no event: {e}", t.name()));
        assert_eq!(
            event.kind,
            t,
            "{}: the example is of another type",
            t.name()
        );
        assert_eq!(event.version, SCHEMA_VERSION);
        assert!(event.id.starts_with("evt_"), "{}", t.name());
        // What the code writes back is what the page shows (no field the type drops).
        let shown: Value = serde_json::from_str(example).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), shown, "{}", t.name());
        at = start + heading.len();
    }
}

#[test]
fn the_field_table_names_every_field_of_an_event() {
    let doc = doc();
    let table = &doc[doc.find("## The event").expect("the field table")..];
    let table = &table[..table.find("\n## ").unwrap_or(table.len())];
    let documented: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .unwrap();
    let fields: Vec<String> = serde_json::from_str::<Value>(example)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for f in &fields {
        assert!(
            documented.contains(&f.as_str()),
            "{f} is not in the field table"
        );
    }
    for d in &documented {
        assert!(
            fields.iter().any(|f| f == d),
            "the table names {d}, which an event does not have"
        );
    }
}

//! The field catalogue of one site (`GET /field`): resolving a field the
//! config names by id or by name, with errors an admin can act on.

use super::model::FieldInfo;

/// The custom type of Jira Software's Epic Link field, where Data Center
/// keeps a story's epic (Cloud uses `parent`). Its id and name differ per
/// site and language; its type does not.
pub const EPIC_LINK_TYPE: &str = "com.pyxis.greenhopper.jira:gh-epic-link";

/// Why a configured field could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("field {name:?} does not exist on {site}{}", hint(.suggestion))]
    Unknown { name: String, site: String, suggestion: Option<String> },
    #[error("field name {name:?} is ambiguous on {site}: it matches {}; use the id instead", .ids.join(", "))]
    Ambiguous { name: String, site: String, ids: Vec<String> },
}

fn hint(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default()
}

#[derive(Debug, Clone, Default)]
pub struct FieldCatalogue {
    pub site: String,
    pub fields: Vec<FieldInfo>,
}

impl FieldCatalogue {
    pub fn new(site: impl Into<String>, fields: Vec<FieldInfo>) -> Self {
        Self { site: site.into(), fields }
    }

    pub fn by_id(&self, id: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The Epic Link field, found by its custom type ([`EPIC_LINK_TYPE`]).
    pub fn epic_link(&self) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.schema.as_ref().and_then(|s| s.custom.as_deref()) == Some(EPIC_LINK_TYPE))
    }

    /// By id first (`summary`, `customfield_10016`), then by name, ignoring
    /// case; a name two fields share is ambiguous.
    pub fn resolve(&self, id_or_name: &str) -> Result<&FieldInfo, FieldError> {
        if let Some(f) = self.by_id(id_or_name) {
            return Ok(f);
        }
        let named: Vec<&FieldInfo> = self.fields.iter().filter(|f| f.name.eq_ignore_ascii_case(id_or_name)).collect();
        match named.as_slice() {
            [one] => Ok(one),
            [] => Err(FieldError::Unknown {
                name: id_or_name.to_string(),
                site: self.site.clone(),
                suggestion: self.closest(id_or_name),
            }),
            many => Err(FieldError::Ambiguous {
                name: id_or_name.to_string(),
                site: self.site.clone(),
                ids: many.iter().map(|f| f.id.clone()).collect(),
            }),
        }
    }

    /// `'Story Points' (customfield_10026)` for messages.
    pub fn describe(&self, id: &str) -> String {
        match self.by_id(id) {
            Some(f) if f.name != f.id => format!("{} '{}'", f.id, f.name),
            _ => id.to_string(),
        }
    }

    fn closest(&self, wanted: &str) -> Option<String> {
        let w = wanted.to_lowercase();
        self.fields
            .iter()
            .map(|f| (distance(&w, &f.name.to_lowercase()), f))
            .filter(|(d, _)| *d <= 2.max(w.len() / 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, f)| format!("{:?} ({})", f.name, f.id))
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::model::FieldSchema;

    fn f(id: &str, name: &str) -> FieldInfo {
        FieldInfo { id: id.into(), name: name.into(), custom: id.starts_with("customfield_"), schema: None }
    }

    #[test]
    fn resolves_by_id_then_name_with_clear_errors() {
        let c = FieldCatalogue::new(
            "emea",
            vec![
                f("summary", "Summary"),
                f("customfield_10026", "Story Points"),
                f("customfield_1", "Team"),
                f("customfield_2", "Team"),
            ],
        );
        assert_eq!(c.resolve("customfield_10026").map(|f| f.name.as_str()), Ok("Story Points"));
        assert_eq!(c.resolve("story points").map(|f| f.id.as_str()), Ok("customfield_10026"));
        assert_eq!(
            c.resolve("Story Pints").unwrap_err().to_string(),
            "field \"Story Pints\" does not exist on emea; did you mean \"Story Points\" (customfield_10026)?"
        );
        assert_eq!(
            c.resolve("Team").unwrap_err().to_string(),
            "field name \"Team\" is ambiguous on emea: it matches customfield_1, customfield_2; use the id instead"
        );
        assert_eq!(
            c.resolve("Nothing like it").unwrap_err().to_string(),
            "field \"Nothing like it\" does not exist on emea"
        );
    }

    /// Epic Link is known by its type: a field merely named so is not it,
    /// and a translated name does not hide it.
    #[test]
    fn the_epic_link_is_found_by_its_custom_type() {
        let typed = |id: &str, name: &str, custom: &str| FieldInfo {
            schema: Some(FieldSchema { kind: "any".into(), custom: Some(custom.into()), ..FieldSchema::default() }),
            ..f(id, name)
        };
        let text = "com.atlassian.jira.plugin.system.customfieldtypes:textfield";
        let impostor = typed("customfield_1", "Epic Link", text);
        assert_eq!(FieldCatalogue::new("apac", vec![impostor.clone(), f("parent", "Parent")]).epic_link(), None);
        let epic = typed("customfield_10100", "Epos-Verknüpfung", EPIC_LINK_TYPE);
        let c = FieldCatalogue::new("apac", vec![impostor, epic]);
        assert_eq!(c.epic_link().map(|f| f.id.as_str()), Some("customfield_10100"));
    }
}
